"""Folding (test, target) outcomes into one verdict per (requirement, target)."""

from __future__ import annotations

import pytest

from atcheck.report.model import (
    Outcome,
    RequirementInfo,
    RunReport,
    TargetInfo,
    Verdict,
    fold_outcomes,
    requirement_matrix,
)
from atcheck.report.model import (
    TestResult as Result,
)
from atcheck.report.summary import summarize

P, F, S, E = Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED, Outcome.ERROR


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ([], Verdict.NOT_RUN),
        ([P], Verdict.PASSED),
        ([P, P], Verdict.PASSED),
        ([P, S], Verdict.PASSED),
        ([S, S], Verdict.SKIPPED),
        ([P, E], Verdict.ERROR),
        ([E, S], Verdict.ERROR),
        ([P, F], Verdict.FAILED),
        ([E, F, P, S], Verdict.FAILED),
    ],
)
def test_fold(outcomes: list[Outcome], verdict: Verdict) -> None:
    assert fold_outcomes(outcomes) == verdict


def _run(results: list[Result], tests: list[str]) -> RunReport:
    return RunReport(
        "0.1.0",
        "r",
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:00:01Z",
        1.0,
        [TargetInfo("a", "impl", "1", ["pds"], "process"), TargetInfo("b", "impl", "1", ["pds"], "process")],
        [
            RequirementInfo("R-1", "MUST", "x", "s", "ref", tests=tests),
            RequirementInfo("R-2", "SHOULD", "x", "s", "ref", tests=[]),
        ],
        results,
    )


def test_matrix_untested_not_run_and_folded() -> None:
    run = _run(
        [
            Result("t1", "a", ["R-1"], "MUST", P),
            Result("t2", "a", ["R-1"], "MUST", F),
            Result("t1", "b", ["R-1"], "MUST", S),
        ],
        ["t1", "t2"],
    )
    matrix = requirement_matrix(run)
    assert matrix == {
        ("R-1", "a"): Verdict.FAILED,
        ("R-1", "b"): Verdict.SKIPPED,
        ("R-2", "a"): Verdict.UNTESTED,
        ("R-2", "b"): Verdict.UNTESTED,
    }
    summary = summarize(run, matrix)
    assert summary.must_failed is run.must_failed is True
    assert [t.must_failed for t in summary.targets] == [True, False]
    assert summary.coverage == 0.5


def test_target_without_results_is_not_run_and_must_passes() -> None:
    run = _run([Result("t1", "a", ["R-1"], "MUST", P)], ["t1"])
    matrix = requirement_matrix(run)
    assert matrix[("R-1", "b")] == Verdict.NOT_RUN
    assert summarize(run, matrix).must_failed is run.must_failed is False


def test_known_failures_stay_failed_but_do_not_fail_the_run() -> None:
    known = Result("t1", "a", ["R-1"], "MUST", F)
    known.known_failure = "arroba answers 501, tracked upstream"
    run = _run([known, Result("t1", "b", ["R-1"], "MUST", P)], ["t1"])
    matrix = requirement_matrix(run)
    assert matrix[("R-1", "a")] == Verdict.FAILED
    summary = summarize(run, matrix)
    assert [t.known_failures for t in summary.targets] == [1, 0]
    assert summary.must_failed is False
    run.results.append(Result("t2", "a", ["R-1"], "MUST", E))
    assert summarize(run).must_failed is True


def test_run_must_failed_agrees_with_the_summary_and_ignores_known_failures() -> None:
    known = Result("t1", "a", ["R-1"], "MUST", F, known_failure="tracked")
    should_failure = Result("t3", "a", ["R-2"], "SHOULD", F)
    run = _run([known, should_failure, Result("t1", "b", ["R-1"], "MUST", P)], ["t1"])
    assert run.must_failed is summarize(run).must_failed is False
    run.results.append(Result("t2", "b", ["R-1"], "MUST", E))
    assert run.must_failed is summarize(run).must_failed is True
