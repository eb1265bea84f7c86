"""report diff: regressions, fixes, changed messages, what is no longer judged; text, JSON and exit status."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from atcheck import cli
from atcheck.report.diff import diff_reports, normalise_message, render_text
from atcheck.report.model import Outcome, RunReport
from atcheck.report.writer import write_reports

# The sample report's tests (tests/report/conftest.py).
T_ENVELOPE = "suites/xrpc/test_errors.py::test_error_envelope"
T_STATUS = "suites/xrpc/test_errors.py::TestStatus::test_unknown_method[GET]"
T_CREATE = "suites/repo/test_records.py::test_create_record_cid"
T_SYNTAX = "suites/syntax/test_tid.py::test_tid_syntax"


def _with(report: RunReport, changes: dict[tuple[str, str], dict[str, object]]) -> RunReport:
    results = []
    for r in report.results:
        change = changes.get((r.target, r.test_id))
        if change is not None and change.get("drop"):
            continue
        results.append(replace(r, **change) if change else r)  # type: ignore[arg-type]
    return replace(report, results=results, run_id=report.run_id + "-new")


def _later(report: RunReport) -> RunReport:
    return _with(
        report,
        {
            ("reference", T_STATUS): {"outcome": Outcome.FAILED, "message": "got 500\nmore"},  # regression
            ("arroba", T_ENVELOPE): {"outcome": Outcome.PASSED, "message": ""},  # fix
            ("arroba", T_CREATE): {"message": "server crashed differently"},  # changed
            ("arroba", T_STATUS): {"outcome": Outcome.SKIPPED},  # passed before: not a change
        },
    )


def test_regressions_fixes_and_changed_messages(report: RunReport) -> None:
    d = diff_reports(report, _later(report))
    assert [(c.target, c.test_id, c.old_outcome, c.new_outcome) for c in d.regressions] == [
        ("reference", T_STATUS, "passed", "failed")
    ]
    assert d.regressions[0].new_message == "got 500"
    assert [(c.target, c.test_id) for c in d.fixes] == [("arroba", T_ENVELOPE)]
    assert [(c.target, c.test_id) for c in d.changed] == [("arroba", T_CREATE)]
    assert d.not_judged == []
    assert d.has_regressions
    assert d.must["reference"] == ("2/2", "1/2")


def test_identical_runs_have_no_change(report: RunReport) -> None:
    d = diff_reports(report, report)
    assert not (d.regressions or d.fixes or d.changed or d.not_judged)
    assert "No result changed." in render_text(d)


def test_a_new_failing_test_is_a_regression_and_a_dropped_failure_is_not_a_fix(report: RunReport) -> None:
    extra = replace(report.results[0], test_id=T_SYNTAX, outcome=Outcome.ERROR, message="boom")
    new = _with(report, {("arroba", T_ENVELOPE): {"drop": True}})
    new = replace(new, results=[*new.results, extra])
    d = diff_reports(report, new)
    assert [(c.target, c.test_id, c.old_outcome) for c in d.regressions] == [("reference", T_SYNTAX, None)]
    assert d.fixes == []
    assert [(c.target, c.test_id, c.new_outcome) for c in d.not_judged] == [("arroba", T_ENVELOPE, None)]


def test_run_specific_values_do_not_count_as_a_changed_message(report: RunReport) -> None:
    old_msg = "did:plc:abcdefghijklmnopqrstuvwx at 127.0.0.1:4321 took 1.25 s"
    new_msg = "did:plc:zyxwvutsrqponmlkjihgfedc at 127.0.0.1:5555 took 0.5 s"
    old = _with(report, {("arroba", T_CREATE): {"message": old_msg}})
    new = _with(report, {("arroba", T_CREATE): {"message": new_msg}})
    assert diff_reports(old, new).changed == []
    assert len(diff_reports(old, new, exact=True).changed) == 1
    cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
    assert normalise_message(f"rev 3lbyr7ae2kc2x, cid {cid}") == "rev <tid>, cid <cid>"
    assert normalise_message("authenticated") == "authenticated"  # a 13-letter word is not a TID


def _write(tmp_path: Path, report: RunReport, name: str) -> Path:
    out = tmp_path / name
    write_reports(report, out)
    return out


def test_cli_exits_1_on_regressions_with_text_and_json(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _write(tmp_path, report, "old")
    new = _write(tmp_path, _later(report), "new")
    assert cli.main(["report", "diff", str(old), str(new / "report.json")]) == 1
    out = capsys.readouterr().out
    assert "New failures (regressions) (1):" in out and T_STATUS in out
    assert "Fixed (1):" in out and "Still failing, message changed (1):" in out
    assert "reference: MUST passed 2/2 -> 1/2" in out
    assert cli.main(["report", "diff", "--json", str(old), str(new)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [c["test_id"] for c in data["regressions"]] == [T_STATUS]
    assert data["must"]["reference"] == {"old": "2/2", "new": "1/2"}
    # The other way round, the regression is a fix (and the fix a regression).
    assert cli.main(["report", "diff", "--json", str(new), str(old)]) == 1
    back = json.loads(capsys.readouterr().out)
    assert [c["test_id"] for c in back["fixes"]] == [T_STATUS]
    assert cli.main(["report", "diff", str(old), str(old)]) == 0


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"results": 3}', encoding="utf-8")
    for argv in (
        ["report", "diff", str(tmp_path / "missing"), str(tmp_path / "bad.json")],
        ["report", "diff", str(tmp_path / "bad.json"), str(tmp_path / "bad.json")],
        ["report", "diff", str(tmp_path / "other.json"), str(tmp_path / "other.json")],
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("atcheck: ") and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
