"""The plugin's ``upstreams`` fixture (a relay's PDSes) and a passing test's note, end to end.

A real pytest session in a subprocess, with two fake PDS targets and a fake relay target whose service
declares ``needs_all = ["pds"]``: the relay's tests get both PDSes (with their host names and an account
factory), the PDS targets' tests are skipped with the reason, and a note a passing test leaves with
``record_property("atcheck_note", ...)`` becomes its message in report.json. The relay's result names the
PDSes as its peers, and its interop marker puts it in both PDS -> relay cells of the report's matrix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

FAKE = Path(__file__).with_name("fake_pds.py")

SUITE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.requirement("SYNC-HTTP-11")
    @pytest.mark.interop("federation", producer="upstreams", consumer="target")
    def test_relay_sees_its_pdses(target, upstreams, record_property):
        names = sorted(u.name for u in upstreams)
        assert names == ["pds-a", "pds-b"], names
        for upstream in upstreams:
            assert upstream.hostname.startswith("localhost:"), upstream.hostname
            assert upstream.url.startswith("http://127.0.0.1:")
            assert callable(upstream.new_account)
        assert target.endpoint("relay").url.startswith("http://127.0.0.1:")
        record_property("atcheck_note", f"followed {', '.join(u.hostname for u in upstreams)}")
    """
)


def _manifest(tmp_path: Path, name: str, roles: str, extra: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "{name}"
            implementation = "fake"
            version = "0"
            provisioning = "given"

            [[service]]
            name = "svc"
            roles = {roles}
            {extra}
            health = {{ path = "/xrpc/_health", timeout = 5 }}
            [service.process]
            command = ["{{python}}", "{FAKE}", "{{port}}", "{tmp_path / (name + ".pid")}"]
            """
        ),
        encoding="utf-8",
    )
    return path


def _run(tmp_path: Path, *manifests: Path, suite: str = SUITE) -> tuple[int, str, dict[str, Any]]:
    (tmp_path / "test_fake_suite.py").write_text(suite, encoding="utf-8")
    out = tmp_path / "report"
    env = {**os.environ, "ATCHECK_HOME": str(Path(__file__).resolve().parents[2])}
    env.pop("ATCHECK_TARGETS", None)
    targets = [arg for m in manifests for arg in ("--atcheck-target", str(m))]
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(tmp_path / "test_fake_suite.py"),
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q", *targets,
            "--atcheck-report-dir", str(out), "-W", "ignore::pytest.PytestAssertRewriteWarning",
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return done.returncode, done.stdout + done.stderr, report


def test_a_relay_gets_every_pds_of_the_run_and_a_pds_is_skipped(tmp_path: Path) -> None:
    relay = _manifest(tmp_path, "relay", '["relay"]', 'needs_all = ["pds"]')
    pds_a = _manifest(tmp_path, "pds-a", '["pds"]')
    pds_b = _manifest(tmp_path, "pds-b", '["pds"]')
    code, output, report = _run(tmp_path, pds_a, pds_b, relay)
    assert code == 0, output
    results = {r["target"]: r for r in report["results"]}
    assert results["relay"]["outcome"] == "passed", results["relay"]
    assert results["relay"]["message"].startswith("followed localhost:")
    assert sorted(results["relay"]["peers"]) == ["pds-a", "pds-b"]
    assert results["relay"]["interop"]["consumers"] == ["relay"]
    (scenario,) = report["interop"]
    cells = {(c["producer"], c["consumer"]): c["passed"] for c in scenario["cells"]}
    assert cells == {("pds-a", "relay"): 1, ("pds-b", "relay"): 1}
    for name in ("pds-a", "pds-b"):  # skipped, as a relay test on a target that is no relay
        assert results[name]["outcome"] == "skipped"
        assert results[name]["peers"] == []  # skipped before any fixture gave it a peer
        assert results[name]["interop"] is None
        assert f"which target {name} does not provide" in results[name]["message"]


def test_a_relay_alone_is_skipped_with_the_reason(tmp_path: Path) -> None:
    relay = _manifest(tmp_path, "relay", '["relay"]', 'needs_all = ["pds"]')
    code, output, report = _run(tmp_path, relay)
    assert code == 0, output
    (result,) = report["results"]
    assert result["outcome"] == "skipped" and "follows no PDS" in result["message"]
