"""Stable verdicts: a derandomized property test draws the same examples alone and in a wider session, and
a failure Hypothesis cannot replay (the server's state changed) is reported as the conformance failure it is.

Each case runs a real pytest session in a subprocess against the fake PDS of ``test_plugin`` and compares
what the property test drew (written to a file) or what report.json says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from atcheck.pytest_plugin.draws import pinned_draws, seed_of

FAKE = Path(__file__).with_name("fake_pds.py")

DRAWING = textwrap.dedent(
    """
    import os
    import pytest
    from hypothesis import HealthCheck, given, settings, strategies as st

    QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

    @pytest.mark.requirement("XRPC-HTTP-01")
    @settings(derandomize=True, database=None, max_examples=25, suppress_health_check=QUIET)
    @given(value=st.text(max_size=20) | st.integers())
    def test_draws(pds, value):
        with open(os.environ["DRAWS_FILE"], "a", encoding="utf-8") as out:
            out.write(repr(value) + "\\n")
    """
)

# Imported by a module of the wide session: literals, which Hypothesis would otherwise mix into the draws of
# every later test (its "local constants", scanned from every non-test module loaded so far).
_WORDS = ", ".join(repr(f"atcheck-word-{i}") for i in range(200))
_NUMBERS = ", ".join(str(7919 * i + 13) for i in range(200))
LITERALS = f"WORDS = [{_WORDS}]\nNUMBERS = [{_NUMBERS}]\n"

OTHER = textwrap.dedent(
    """
    import pytest
    from hypothesis import HealthCheck, given, settings, strategies as st

    import literals_helper  # noqa: F401

    QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

    @pytest.mark.requirement("XRPC-HTTP-01")
    @settings(derandomize=True, database=None, max_examples=5, suppress_health_check=QUIET)
    @given(value=st.text())
    def test_other(pds, value):
        pass
    """
)

FLAKY = textwrap.dedent(
    """
    import os
    import pytest
    from hypothesis import HealthCheck, given, settings, strategies as st

    QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
    from atcheck.checks import ConformanceFailure

    @pytest.mark.requirement("XRPC-HTTP-01")
    @settings(derandomize=True, database=None, max_examples=5, suppress_health_check=QUIET)
    @given(value=st.integers())
    def test_state_left_behind(pds, value):
        marker = os.environ["DRAWS_FILE"] + ".taken"
        if not os.path.exists(marker):  # the first write takes the fixed rkey; a replay finds it taken
            open(marker, "w").close()
            raise ConformanceFailure("the record stored under rkey 'self'", "RecordNotFound")
    """
)


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "fake.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "fake"
            implementation = "fake-pds"
            version = "0"
            provisioning = "given"
            capabilities = ["server.describe"]

            [[service]]
            name = "pds"
            roles = ["pds"]
            health = {{ path = "/xrpc/_health", timeout = 5 }}
            [service.process]
            command = ["{{python}}", "{FAKE}", "{{port}}", "{tmp_path / "fake.pid"}"]
            """
        ),
        encoding="utf-8",
    )
    return path


def _session(tmp_path: Path, modules: dict[str, str], draws: Path) -> tuple[str, dict[str, Any]]:
    for name, text in modules.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = tmp_path / "report"
    env = {**os.environ, "ATCHECK_HOME": str(Path(__file__).resolve().parents[2]), "DRAWS_FILE": str(draws)}
    env.pop("ATCHECK_TARGETS", None)
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", *(str(tmp_path / n) for n in modules),
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q",
            "--atcheck-target", str(_manifest(tmp_path)), "--atcheck-report-dir", str(out),
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return done.stdout + done.stderr, report


def test_a_property_test_draws_the_same_alone_and_after_other_modules(tmp_path: Path) -> None:
    alone, wide = tmp_path / "alone", tmp_path / "wide"
    alone.mkdir()
    wide.mkdir()
    output, _ = _session(alone, {"test_z_draws.py": DRAWING}, alone / "draws.txt")
    first = (alone / "draws.txt").read_text().splitlines()
    (wide / "literals_helper.py").write_text(LITERALS, encoding="utf-8")
    modules = {"test_a_other.py": OTHER, "test_z_draws.py": DRAWING}
    output2, _ = _session(wide, modules, wide / "draws.txt")
    second = (wide / "draws.txt").read_text().splitlines()
    assert len(first) >= 10, output
    assert first == second, output2


def test_a_failure_the_server_state_makes_unreplayable_is_a_conformance_failure(tmp_path: Path) -> None:
    output, report = _session(tmp_path, {"test_flaky.py": FLAKY}, tmp_path / "draws.txt")
    (result,) = report["results"]
    assert result["outcome"] == "failed", output
    assert result["message"].startswith("expected the record stored under rkey 'self'"), result["message"]
    assert "could not replay" in result["message"]
    assert "Flaky" not in result["message"].split("\n")[0]


def test_pinned_draws_ignore_what_else_is_loaded(tmp_path: Path) -> None:
    """In process: the draws under a key do not change when a module of new literals is imported."""
    drawn: list[object] = []

    @settings(derandomize=True, database=None, max_examples=60)
    @given(value=st.text(max_size=20) | st.integers())
    def prop(value: object) -> None:
        drawn.append(value)

    with pinned_draws(prop, "suite.py::prop @ fake"):
        prop()
    before, drawn[:] = list(drawn), []
    module = tmp_path / "atcheck_selftest_literals.py"
    module.write_text(LITERALS, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        __import__("atcheck_selftest_literals")
        with pinned_draws(prop, "suite.py::prop @ fake"):
            prop()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("atcheck_selftest_literals", None)
    assert drawn == before
    assert seed_of("a") == seed_of("a") != seed_of("b")
