"""The library suite end to end, against fake harnesses started by the process launcher: a harness that
agrees with the oracle passes, one that answers wrongly fails with the disagreeing inputs in the report, and
one that dies or writes garbage makes the tests errors with one clear line, and no process survives."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "fakes" / "fake_harness.py"
RULES = "SYN-TID-03 or SYN-RKEY-02"


def _run(tmp_path: Path, mode: str) -> tuple[int, str, dict[str, Any]]:
    manifest = tmp_path / "fake-lib.toml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            name = "fake-lib"
            implementation = "fake library"
            version = "0"
            provisioning = "given"

            [[service]]
            name = "harness"
            roles = ["lib"]
            [service.process]
            command = ["{{python}}", "{FAKE}"]
            env = {{ FAKE_HARNESS_MODE = "{mode}", PYTHONPATH = "{ROOT / "src"}" }}
            """
        ),
        encoding="utf-8",
    )
    out = tmp_path / "report"
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "suites" / "libs" / "test_syntax.py"), "-k", RULES,
            "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-q", "--tb=line",
            "--atcheck-target", str(manifest), "--atcheck-report-dir", str(out),
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
        ],
        capture_output=True, text=True, env={**os.environ}, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return done.returncode, done.stdout + done.stderr, report


def _results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["test_id"].split("[")[-1].rstrip("]"): r for r in report["results"]}


def test_a_harness_that_agrees_with_the_oracle_passes(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, "oracle")
    assert code == 0, output
    results = _results(report)
    assert {k: r["outcome"] for k, r in results.items()} == {"SYN-RKEY-02": "passed", "SYN-TID-03": "passed"}
    assert "cases/s through the harness" in results["SYN-TID-03"]["message"]


def test_a_harness_that_answers_wrongly_is_caught_with_its_inputs(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, "wrong")
    assert code == 1, output
    failed = _results(report)["SYN-RKEY-02"]
    assert failed["outcome"] == "failed"
    assert "expected invalid (rejected), the library accepted it" in failed["message"]
    assert '"value": ".."' in failed["message"]  # the disagreeing input, as evidence
    # The set of disagreeing inputs is the failure's case key, so a baseline entry excuses exactly that set.
    assert re.search(r"cases disagree \[case: \d+-disagree-[0-9a-f]{10}\]", failed["message"]), failed[
        "message"
    ]
    assert failed["evidence"] and failed["evidence"][0]["method"] == "HARNESS"


@pytest.mark.parametrize(("mode", "says"), [("dies", "exited"), ("garbage", "not JSON")])
def test_a_harness_that_breaks_is_an_error_with_one_clear_line(tmp_path: Path, mode: str, says: str) -> None:
    code, output, report = _run(tmp_path, mode)
    assert code != 0
    results = _results(report)
    assert {r["outcome"] for r in results.values()} == {"error"}
    message = results["SYN-RKEY-02"]["message"]
    assert "the harness broke on syntax.valid" in message and says in message
    assert "Traceback" not in output


def test_the_case_key_names_the_set_of_disagreeing_inputs() -> None:
    from atcheck.libs.case import Case
    from atcheck.suite.libs import disagreement_key

    a = Case("syntax.valid", {"kind": "rkey", "value": ".."}, "reject", "SYN-RKEY-02", source="v:1")
    b = Case("syntax.valid", {"kind": "rkey", "value": "."}, "reject", "SYN-RKEY-02", source="v:2")
    assert disagreement_key([a, b]) == disagreement_key([b, a])  # order does not matter
    assert disagreement_key([a]).startswith("1-disagree-")
    assert disagreement_key([a]) != disagreement_key([b]) != disagreement_key([a, b])
