"""How one pytest report becomes a result's outcome and message, and what a baseline makes of it.

A check that fails (:class:`ConformanceFailure`, a failed request, an assert) in a test's call phase is a
*failure* of the target; anything else (a fixture that broke, a target that did not start) is an *error*:
the test could not judge.
"""

from __future__ import annotations

import re

import pytest
from hypothesis.errors import Flaky

from atcheck.failure import ConformanceFailure
from atcheck.report.model import Outcome, TestResult
from atcheck.run import Run
from atcheck.xrpc.client import TransportFailure

_REPRODUCE = re.compile(r"@reproduce_failure\((['\"][^'\"]+['\"], b['\"][A-Za-z0-9+/=]+['\"])\)")
_MESSAGE_CHARS = 2000
_REPLAY_NOTE = (
    "\n(Hypothesis could not replay this failure: the first attempt changed the server's state, so the "
    "replay met another answer; the failure above is what the server did)"
)


def outcome_of(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Outcome, str]:
    """The outcome of a test phase's report, and the message the compliance report shows for it."""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return Outcome.SKIPPED, str(reason).removeprefix("Skipped: ")
    if report.passed:
        return Outcome.PASSED, ""
    exc = call.excinfo.value if call.excinfo is not None else None
    cause = check_failure_in(exc)
    if cause is not None and cause is not exc and report.when == "call":
        # Hypothesis could not replay the failure (the server's state had changed: a fixed rkey now taken),
        # or found several: the server's defect is the check that failed, not Hypothesis's complaint.
        several = f"\n(one of {_count(exc)} failures Hypothesis found)"
        note = _REPLAY_NOTE if isinstance(exc, Flaky) else several
        return Outcome.FAILED, (str(cause) or "assertion failed") + note
    message = f"{type(exc).__name__}: {exc}" if exc is not None else str(report.longrepr)[:_MESSAGE_CHARS]
    if isinstance(exc, ConformanceFailure | TransportFailure) and report.when == "call":
        return Outcome.FAILED, str(exc)
    if isinstance(exc, AssertionError) and report.when == "call":
        return Outcome.FAILED, str(exc) or "assertion failed"
    return Outcome.ERROR, message


def check_failure_in(exc: BaseException | None) -> BaseException | None:
    """The first failed check in ``exc``: itself, or one Hypothesis wrapped in an exception group.

    Hypothesis raises ``FlakyFailure`` (an exception group) when a failing example passes on replay, as one
    does against a live server whose state the first attempt changed, and an ``ExceptionGroup`` when it
    found several distinct failures; the server's defect is the failure inside.
    """
    if isinstance(exc, ConformanceFailure | TransportFailure | AssertionError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = check_failure_in(inner)
            if found is not None:
                return found
    return None


def _count(exc: BaseException | None) -> int:
    return len(exc.exceptions) if isinstance(exc, BaseExceptionGroup) else 1


def add_hypothesis_details(result: TestResult, longrepr: str, notes: list[str]) -> None:
    """For a property-based test: how to reproduce it (the seed) and the (shrunk) example, in the report.

    Hypothesis attaches both to the exception as PEP 678 notes: the failing case and each labelled draw, then
    a ``@reproduce_failure(...)`` line.
    """
    blob = _REPRODUCE.search("\n".join([longrepr, *notes]))
    if blob:
        result.seed = f"@reproduce_failure({blob.group(1)})"
    example = [n.strip() for n in notes if n.strip().startswith(("Falsifying", "Failing test case", "Draw "))]
    if example:
        result.message += "\n" + "\n".join(example)[:_MESSAGE_CHARS]


def with_liveness(run: Run, message: str) -> str:
    """If a service of the run died, say so: the failure is the crash, not the check that noticed it."""
    dead = [s for s in run.stack.running_services() if not s.alive()]
    if not dead:
        return message
    summaries = "; ".join(f"{s.spec.name}: {s.exit_summary()}" for s in dead)
    return f"{message} [a service of the run is no longer running: {summaries}]"


def apply_baseline(run: Run, result: TestResult, report: pytest.TestReport) -> None:
    """Known failures become xfail for pytest (the report keeps them failed); a fixed one fails loudly."""
    failing = result.outcome in (Outcome.FAILED, Outcome.ERROR)
    target = run.targets.get(result.target)
    implementation = target.implementation_name if target is not None else None
    baseline = run.baseline
    message = result.message if failing else None
    expected = baseline.expected(result.target, result.test_id, message, implementation=implementation)
    if expected is None:
        refusal = (
            baseline.refusal(result.target, result.test_id, result.message, implementation=implementation)
            if failing
            else None
        )
        if refusal is not None:  # the baseline knows this test, but not this failure: say so where it is read
            result.message = f"{result.message}\n(new failure: {refusal})"
        return
    if failing:
        result.known_failure = expected.reason
        report.outcome = "skipped"
        report.wasxfail = f"known failure ({run.baseline.source}): {expected.reason}"
    elif result.outcome == Outcome.PASSED and expected.strict:
        report.outcome = "failed"
        report.longrepr = (
            f"{result.test_id} on {result.target} passes, but {run.baseline.source} expects it to fail "
            f"({expected.reason}); remove that entry"
        )
