"""``atcheck containers compare``: outcomes of two targets, check by check."""

from __future__ import annotations

import pytest

from atcheck.containers.compare import LAUNCHER_SKIP, compare
from atcheck.errors import UsageError
from atcheck.report import model
from atcheck.report.model import Outcome, RunReport, TargetInfo


def report(outcomes: dict[str, dict[str, Outcome]]) -> RunReport:
    targets = sorted({t for per_test in outcomes.values() for t in per_test})
    return RunReport(
        atcheck_version="0",
        run_id="r",
        started_at="",
        finished_at="",
        duration_s=0.0,
        targets=[TargetInfo(t, "impl", "1", ["pds"], "process") for t in targets],
        requirements=[],
        results=[
            model.TestResult(
                test_id, target, [], "MUST", outcome, message=f"{outcome.value} on {target}\nmore"
            )
            for test_id, per_test in outcomes.items()
            for target, outcome in per_test.items()
        ],
    )


def test_equal_outcomes_give_no_difference() -> None:
    same = {
        "t1": {"a": Outcome.PASSED, "b": Outcome.PASSED},
        "t2": {"a": Outcome.FAILED, "b": Outcome.FAILED},
    }
    assert compare(report(same), "a", "b") == (2, [])


def test_a_different_or_missing_outcome_is_reported_with_the_failing_message() -> None:
    total, diffs = compare(
        report(
            {
                "t1": {"a": Outcome.PASSED, "b": Outcome.FAILED},
                "t2": {"a": Outcome.PASSED},
                "t3": {"a": Outcome.SKIPPED, "b": Outcome.SKIPPED},
            }
        ),
        "a",
        "b",
    )
    assert total == 3
    assert [(d.test_id, d.left, d.right) for d in diffs] == [
        ("t1", "passed", "failed"),
        ("t2", "passed", "absent"),
    ]
    assert diffs[0].detail == "failed on b"


def test_an_unknown_target_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not in the report"):
        compare(report({"t1": {"a": Outcome.PASSED}}), "a", "reference@container")


def test_a_skip_that_declares_the_launcher_inapplicable_is_not_a_difference() -> None:
    """skip_under_launcher's reason marks a check that cannot work under one launcher; any other skip beside
    a verdict still differs (a launcher that makes checks skip must not look equal)."""
    rep = report(
        {"t1": {"a": Outcome.PASSED, "b": Outcome.SKIPPED}, "t2": {"a": Outcome.PASSED, "b": Outcome.SKIPPED}}
    )
    rep.results[1].message = f"{LAUNCHER_SKIP}container launcher: out of reach"
    total, diffs = compare(rep, "a", "b")
    assert total == 2
    assert [d.test_id for d in diffs] == ["t2"]


def test_every_launcher_pair_of_a_report_is_found() -> None:
    from atcheck.containers.compare import launcher_pairs

    found = report(
        {
            "t1": {
                "reference": Outcome.PASSED,
                "reference@container": Outcome.PASSED,
                "indigo-relay": Outcome.PASSED,
                "indigo-relay@container": Outcome.PASSED,
                "arroba": Outcome.PASSED,
            }
        }
    )
    assert launcher_pairs(found) == [
        ("indigo-relay", "indigo-relay@container"),
        ("reference", "reference@container"),
    ]


def test_a_side_that_did_not_run_is_not_compared_and_says_why() -> None:
    from atcheck.containers.compare import compare_pair

    run = report({"t1": {"indigo-relay": Outcome.PASSED, "indigo-relay@container": Outcome.ERROR}})
    run.targets[1].status = "not-run"
    run.targets[1].reason = "image atcheck/indigo-relay: Go is missing"
    pair = compare_pair(run, "indigo-relay", "indigo-relay@container")
    assert (
        pair.not_compared == "indigo-relay@container did not run: image atcheck/indigo-relay: Go is missing"
    )
    assert pair.differences == ()
    run.targets[1].status = "ran"
    assert len(compare_pair(run, "indigo-relay", "indigo-relay@container").differences) == 1


def test_a_known_intermittent_failure_beside_a_pass_is_not_a_difference() -> None:
    """A pass on one side and a *known* failure on the other can only come from a baseline entry that allows
    a pass (a server's behaviour that varies from run to run): not the launcher's doing. A new failure
    beside a pass still differs."""
    rep = report(
        {"t1": {"a": Outcome.PASSED, "b": Outcome.FAILED}, "t2": {"a": Outcome.FAILED, "b": Outcome.PASSED}}
    )
    rep.results[1].known_failure = "in the baseline, strict = false"  # t1 on b
    total, diffs = compare(rep, "a", "b")
    assert total == 2
    assert [d.test_id for d in diffs] == ["t2"]
