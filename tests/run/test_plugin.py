"""The pytest plugin end to end: a real pytest session against a fake PDS started by the process launcher.

Each test writes a small suite and a manifest into a temp dir and runs pytest on it in a subprocess, then
reads report.json: the plugin's contract is what it writes, and that no process of the run survives it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

FAKE = Path(__file__).with_name("fake_pds.py")

SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.checks import expect_error, expect_ok

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_describe(pds):
        expect_ok(pds.query("com.atproto.server.describeServer"))

    @pytest.mark.requirement("XRPC-ERR-01")
    def test_unknown_is_400(pds):
        expect_error(pds.query("com.example.nothing"), 400)

    @pytest.mark.requirement("REPO-MST-01")
    @pytest.mark.needs("repo.write")
    def test_needs_writes(pds):
        raise AssertionError("must not run: the fake declares no repo.write")
    """
)


def _manifest(tmp_path: Path, mode: str = "ok", name: str = "fake") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "{name}"
            implementation = "fake-pds"
            version = "0"
            provisioning = "given"
            capabilities = ["server.describe", "xrpc.errors"]

            [[service]]
            name = "pds"
            roles = ["pds"]
            credentials = {{ admin_password = "{{secret:admin}}" }}
            health = {{ path = "/xrpc/_health", timeout = 5 }}
            [service.process]
            command = ["{{python}}", "{FAKE}", "{{port}}", "{tmp_path / (name + ".pid")}"]
            env = {{ FAKE_MODE = "{mode}" }}
            """
        ),
        encoding="utf-8",
    )
    return path


def _run(
    tmp_path: Path, *extra: str, suite: str = SUITE, mode: str = "ok"
) -> tuple[int, str, dict[str, Any]]:
    (tmp_path / "test_fake_suite.py").write_text(suite, encoding="utf-8")
    out = tmp_path / "report"
    env = {**os.environ, "ATCHECK_HOME": str(Path(__file__).resolve().parents[2])}
    env.pop("ATCHECK_TARGETS", None)
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(tmp_path / "test_fake_suite.py"),
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q",
            "--atcheck-target", str(_manifest(tmp_path, mode)), "--atcheck-report-dir", str(out),
            "-W", "ignore::pytest.PytestAssertRewriteWarning", *extra,
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return done.returncode, done.stdout + done.stderr, report


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {r["test_id"].split("::")[-1]: r["outcome"] for r in report["results"]}


def _assert_stopped(tmp_path: Path) -> None:
    pid = int((tmp_path / "fake.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_results_skips_and_evidence_reach_the_report(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path)
    assert code == 1, output
    assert _outcomes(report) == {
        "test_describe": "passed",
        "test_unknown_is_400": "failed",
        "test_needs_writes": "skipped",
    }
    failed = next(r for r in report["results"] if r["outcome"] == "failed")
    assert "expected HTTP 400" in failed["message"] and "com.example.nothing" in failed["message"]
    assert failed["evidence"] and failed["evidence"][0]["status"] == 501
    skipped = next(r for r in report["results"] if r["outcome"] == "skipped")
    assert "does not declare repo.write" in skipped["message"]
    assert report["targets"][0]["status"] == "ran"
    _assert_stopped(tmp_path)


def test_an_unknown_requirement_id_fails_collection(tmp_path: Path) -> None:
    suite = 'import pytest\n\n@pytest.mark.requirement("NOPE-99")\ndef test_x(pds):\n    pass\n'
    code, output, _ = _run(tmp_path, suite=suite)
    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "unknown requirement ID(s) NOPE-99" in output


def test_a_target_that_dies_at_start_makes_errors_not_failures(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, mode="die")
    assert code == 1, output
    outcomes = _outcomes(report)
    assert outcomes["test_describe"] == outcomes["test_unknown_is_400"] == "error"
    target = report["targets"][0]
    assert target["status"] == "not-run"
    assert "exit" in target["reason"] and "refusing to start" in target["reason"]


def test_a_baseline_keeps_the_session_green_but_the_report_honest(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(
        '[[expected]]\ntarget = "fake"\ntest = "test_fake_suite.py::test_unknown_is_400"\n'
        'reason = "fake answers 501"\n',
        encoding="utf-8",
    )
    code, output, report = _run(tmp_path, "--atcheck-baseline", str(baseline))
    assert code == 0, output
    failed = next(r for r in report["results"] if r["test_id"].endswith("test_unknown_is_400"))
    assert failed["outcome"] == "failed"
    assert failed["known_failure"] == "fake answers 501"


def test_a_fixed_known_failure_fails_the_session(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(
        '[[expected]]\ntarget = "fake"\ntest = "test_fake_suite.py::test_describe"\nreason = "stale"\n',
        encoding="utf-8",
    )
    code, output, _ = _run(tmp_path, "--atcheck-baseline", str(baseline))
    assert code == 1
    assert "remove that entry" in output


LEAKY_SUITE = textwrap.dedent(
    """
    import pathlib
    import pytest
    from atcheck.checks import expect_error

    @pytest.mark.requirement("XRPC-ERR-01")
    def test_leak(target, pds):
        secret = target.endpoint("pds").credentials.admin_password
        pathlib.Path(__file__).with_name("secret.txt").write_text(secret)
        headers = {"X-Echo": secret, "Authorization": "Basic " + secret}
        resp = pds.query("com.example.nothing", headers=headers)
        expect_error(resp, 400, f"Wanted-{secret}")
    """
)


def test_run_secrets_never_reach_a_report_file(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, suite=LEAKY_SUITE)
    assert code == 1, output
    secret = (tmp_path / "secret.txt").read_text()
    assert len(secret) >= 16
    assert report["results"][0]["outcome"] == "failed"
    written = [p for p in (tmp_path / "report").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"report.json", "report.html", "summary.md", "junit.xml"}
    for path in written:
        assert secret not in path.read_text(errors="replace"), f"{path.name} leaks a run secret"


PEER_SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.checks import expect_ok

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_two_pdses(target, peer, pds, second_pds):
        assert peer.name != target.name
        assert second_pds.base_url != pds.base_url
        expect_ok(second_pds.query("com.atproto.server.describeServer"))
    """
)


def test_peer_gives_the_other_pds_of_the_run(tmp_path: Path) -> None:
    second = _manifest(tmp_path, name="fake2")
    code, output, report = _run(tmp_path, "--atcheck-target", str(second), suite=PEER_SUITE)
    assert code == 0, output
    assert sorted((r["target"], r["outcome"]) for r in report["results"]) == [
        ("fake", "passed"),
        ("fake2", "passed"),
    ]
    code, output, report = _run(tmp_path, suite=PEER_SUITE)
    assert code == 0, output
    assert report["results"][0]["outcome"] == "skipped"
    assert "no second PDS target" in report["results"][0]["message"]


URL_SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.checks import expect_ok, expect_error

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_describe(pds):
        expect_ok(pds.query("com.atproto.server.describeServer"))

    @pytest.mark.requirement("XRPC-ERR-01")
    def test_leak_admin_password(target, pds):
        secret = target.endpoint("pds").credentials.admin_password
        expect_error(pds.query("com.example.nothing", headers={"X-Echo": secret}), 400)
    """
)


def test_an_already_running_server_is_checked_by_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(FAKE), str(port), str(tmp_path / "url.pid")])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        secret = "admin-secret-for-url-target"
        (tmp_path / "test_fake_suite.py").write_text(URL_SUITE, encoding="utf-8")
        out = tmp_path / "report"
        done = subprocess.run(
            [
                sys.executable, "-m", "pytest", str(tmp_path / "test_fake_suite.py"), "-q",
                "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                "--atcheck-target", f"http://127.0.0.1:{port}", "--atcheck-report-dir", str(out),
            ],
            capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
            env={**os.environ, "ATCHECK_ADMIN_PASSWORD": secret,
                 "ATCHECK_HOME": str(Path(__file__).resolve().parents[2])},
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    report = json.loads((out / "report.json").read_text())
    assert report["targets"][0]["launcher"] == "url", done.stdout
    assert _outcomes(report) == {"test_describe": "passed", "test_leak_admin_password": "failed"}
    for path in out.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), f"{path.name} leaks the admin password"


def test_a_non_strict_known_failure_may_pass(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(
        '[[expected]]\ntarget = "fake"\ntest = "test_fake_suite.py::test_describe"\nreason = "flaky"\n'
        'strict = false\ncases = ["flaky"]\n',
        encoding="utf-8",
    )
    suite = SUITE.replace('expect_error(pds.query("com.example.nothing"), 400)', "pass")
    code, output, report = _run(tmp_path, "--atcheck-baseline", str(baseline), suite=suite)
    assert code == 0, output
    assert _outcomes(report)["test_describe"] == "passed"


PROPERTY_SUITE = textwrap.dedent(
    """
    import pytest
    from hypothesis import HealthCheck, given, settings, strategies as st

    @pytest.mark.requirement("XRPC-HTTP-01")
    @settings(
        database=None, print_blob=True, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def test_property(pds, data):
        n = data.draw(st.integers(min_value=0), label="n")
        assert n < 3, "n must stay small"
    """
)


def test_a_property_failure_reports_its_shrunk_example_and_how_to_reproduce_it(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, suite=PROPERTY_SUITE)
    assert code == 1, output
    result = report["results"][0]
    assert result["outcome"] == "failed"
    assert result["seed"].startswith("@reproduce_failure(")
    assert "Draw 1 (n): 3" in result["message"]


DYING_SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.checks import expect_ok

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_a_crash(pds):
        pds.query("com.example.die")

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_after_the_crash(pds):
        expect_ok(pds.query("com.atproto.server.describeServer"))
    """
)


def test_a_server_that_dies_mid_run_is_named_in_the_failures(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, suite=DYING_SUITE)
    assert code == 1, output
    assert "Traceback" not in output
    after = next(r for r in report["results"] if r["test_id"].endswith("test_after_the_crash"))
    assert after["outcome"] == "failed"
    assert "a service of the run is no longer running" in after["message"]
    assert "exit" in after["message"] and "7" in after["message"]


ROLE_SUITE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.requirement("ID-PLC-12")
    def test_plc_rendering(pds):
        raise AssertionError("must not run: the PLC is not the fake's own service")

    @pytest.mark.requirement("XRPC-ERR-01")
    @pytest.mark.role("plc")
    def test_marked_plc(pds):
        raise AssertionError("must not run either")

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_unknown_is_400(pds):
        raise AssertionError("fails, charged to the pds")
    """
)


def test_a_service_the_target_does_not_provide_is_not_charged_to_it(tmp_path: Path) -> None:
    """A PLC requirement (applies_to plc) or a role marker skips on a target with only a PDS of its own."""
    code, output, report = _run(tmp_path, suite=ROLE_SUITE)
    assert code == 1, output
    by_test = {r["test_id"].split("::")[-1]: r for r in report["results"]}
    for name in ("test_plc_rendering", "test_marked_plc"):
        assert by_test[name]["outcome"] == "skipped", output
        assert "checks the plc, which target fake does not provide" in by_test[name]["message"]
    assert by_test["test_unknown_is_400"]["role"] == "pds"
    assert report["summary"]["headline"] == "1 new MUST failure"
    assert [(d["test"].split("::")[-1], d["role"]) for d in report["summary"]["defects"]] == [
        ("test_unknown_is_400", "pds")
    ]


CASE_SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.baseline import case_tag
    from atcheck.checks import ConformanceFailure

    @pytest.mark.requirement("XRPC-HTTP-01")
    @pytest.mark.parametrize("kind", ["known", "other"])
    def test_drawn(pds, kind):
        raise ConformanceFailure(f"a refusal {case_tag(kind + ' -> HTTP 200')}", "HTTP 200")
    """
)


def test_a_baseline_excuses_only_the_cases_it_names(tmp_path: Path) -> None:
    """Planted: a second kind of failure in a baselined test. It is new, fails the run, and says why."""
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(
        '[[expected]]\ntarget = "fake"\ntest = ["test_fake_suite.py::test_drawn[known]", '
        '"test_fake_suite.py::test_drawn[other]"]\nreason = "known leniency"\n'
        'cases = ["known -> HTTP 200"]\n',
        encoding="utf-8",
    )
    code, output, report = _run(tmp_path, "--atcheck-baseline", str(baseline), suite=CASE_SUITE)
    assert code == 1, output
    by_case = {r["test_id"].split("[")[-1].rstrip("]"): r for r in report["results"]}
    assert by_case["known"]["known_failure"] == "known leniency"
    assert by_case["other"]["known_failure"] is None
    assert (
        "excuses cases ['known -> HTTP 200'] of this test, not 'other -> HTTP 200'"
        in by_case["other"]["message"]
    )
    assert report["summary"]["headline"] == "1 new MUST failure"
