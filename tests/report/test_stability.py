"""report stability: the same verdict for every result across repeated runs, or the results that differ."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from atcheck import cli
from atcheck.errors import UsageError
from atcheck.report.model import Outcome, RunReport
from atcheck.report.stability import compare_runs, render_text
from atcheck.report.writer import write_reports

T_ENVELOPE = "suites/xrpc/test_errors.py::test_error_envelope"
T_CREATE = "suites/repo/test_records.py::test_create_record_cid"


def _run(report: RunReport, run_id: str, **changes: dict[str, object]) -> RunReport:
    """``report`` as another run: results keyed ``target|test_id`` in ``changes`` replaced or dropped."""
    results = []
    for r in report.results:
        change = changes.get(f"{r.target}|{r.test_id}")
        if change is not None and change.get("drop"):
            continue
        results.append(replace(r, **change) if change else r)  # type: ignore[arg-type]
    return replace(report, results=results, run_id=run_id)


def test_identical_runs_are_stable(report: RunReport) -> None:
    s = compare_runs([report, _run(report, "b"), _run(report, "c")])
    assert s.stable and s.unstable == [] and s.partial == []
    assert s.identical == s.results == len({(r.target, r.test_id) for r in report.results})


def test_a_verdict_that_differs_is_listed_with_every_runs_verdict(report: RunReport) -> None:
    # A message that changes (DIDs, ports) is not a changed verdict; an outcome that changes is.
    first = _run(report, "a", **{f"arroba|{T_CREATE}": {"message": "another did:plc:aaaa"}})
    second = _run(report, "b", **{f"arroba|{T_ENVELOPE}": {"outcome": Outcome.PASSED, "known_failure": None}})
    s = compare_runs([report, first, second])
    assert [(u.target, u.test_id) for u in s.unstable] == [("arroba", T_ENVELOPE)]
    before = s.unstable[0].verdicts[0]
    assert s.unstable[0].verdicts == (before, before, "passed")
    assert not s.stable
    assert f"UNSTABLE [arroba] {T_ENVELOPE}" in render_text(s)


def test_a_known_failure_is_not_the_same_verdict_as_a_new_one(report: RunReport) -> None:
    failed = next(r for r in report.results if r.outcome is Outcome.FAILED)
    key = f"{failed.target}|{failed.test_id}"
    known = _run(report, "a", **{key: {"known_failure": "in the baseline"}})
    new = _run(report, "b", **{key: {"known_failure": None}})
    s = compare_runs([known, new])
    assert [u.verdicts for u in s.unstable] == [("failed (known)", "failed")]


def test_results_missing_from_a_run_are_listed_apart(report: RunReport) -> None:
    s = compare_runs([report, _run(report, "b", **{f"arroba|{T_CREATE}": {"drop": True}})])
    assert s.stable and s.partial == [("arroba", T_CREATE)]
    assert "not in every run" in render_text(s)


def test_one_run_is_a_usage_error(report: RunReport) -> None:
    with pytest.raises(UsageError, match="at least two runs"):
        compare_runs([report])


def test_cli_exit_status_text_and_json(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for n, run in enumerate(
        [report, report, _run(report, "x", **{f"arroba|{T_ENVELOPE}": {"outcome": Outcome.SKIPPED}})]
    ):
        write_reports(run, tmp_path / str(n))
        runs.append(str(tmp_path / str(n)))
    assert cli.main(["report", "stability", runs[0], runs[1]]) == 0
    assert "with the same verdict in all 2, 0 that differ" in capsys.readouterr().out
    assert cli.main(["report", "stability", "--json", *runs]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [u["test_id"] for u in data["unstable"]] == [T_ENVELOPE]
    assert data["unstable"][0]["verdicts"][2] == "skipped"
