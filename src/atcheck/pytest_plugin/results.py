"""One :class:`~atcheck.report.model.TestResult` per (test, target), with the HTTP exchanges as evidence.

Before a target test runs, it is skipped when the target lacks a capability it ``needs``, and errors at once
when its target failed to start. After it ran, its result is recorded on the run, its terminal output is
scrubbed of the run's secrets, and the baseline decides whether pytest counts the failure.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from atcheck.catalogue import load_catalogue
from atcheck.pytest_plugin import allure_output, terminal
from atcheck.pytest_plugin.outcomes import (
    add_hypothesis_details,
    apply_baseline,
    check_failure_in,
    outcome_of,
    with_liveness,
)
from atcheck.pytest_plugin.peers import interop_of, peers_of
from atcheck.pytest_plugin.state import RESULT_KEY, requirement_ids, run_of, target_param
from atcheck.report.defects import charged_role
from atcheck.report.model import Outcome, TestResult
from atcheck.report.redact import Redactor
from atcheck.suite.target import TargetDidNotStart, TargetUnderTest
from atcheck.xrpc.client import EvidenceRecorder

_MESSAGE_CHARS = 2000


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = run_of(item.config)
    name = target_param(item)
    if run is None or name is None:
        return
    reason = skip_reason(item)
    if reason is not None:
        pytest.skip(reason)
    failure = run.stack.failure(name)
    if failure is not None:
        raise TargetDidNotStart(f"target {name} did not start: {failure}")
    allure_output.label(item, name)


def skip_reason(item: pytest.Item) -> str | None:
    """Why a target test is skipped before it runs (its target lacks a capability or the role it checks),
    or None when it runs."""
    run = run_of(item.config)
    name = target_param(item)
    if run is None or name is None:
        return None
    manifest = run.targets[name].manifest
    needed = [c for mark in item.iter_markers("needs") for c in mark.args]
    lacking = [c for c in needed if not manifest.supports(c)]
    if lacking:
        return f"target {name} does not declare {', '.join(lacking)}"
    role = role_of(item)
    if role is not None and role not in {str(r) for r in manifest.roles}:
        # The service is another target's (arroba uses the reference's PLC): its verdict belongs to that
        # target's run, never charged to this one.
        return f"checks the {role}, which target {name} does not provide (it uses another target's)"
    return None


def role_of(item: pytest.Item) -> str | None:
    """The service role the test checks (see :func:`atcheck.report.defects.charged_role`)."""
    marked = next((str(m.args[0]) for m in item.iter_markers("role") if m.args), None)
    catalogue = load_catalogue()
    ids = [i for i in requirement_ids(item) if i in catalogue]
    return charged_role(marked, (catalogue.get(i).applies_to for i in ids))


def level_of(ids: list[str]) -> str:
    """A test's level: the strongest among the catalogued requirements it names (MAY when none is)."""
    catalogue = load_catalogue()
    return catalogue.strongest_level(i for i in ids if i in catalogue) or "MAY"


def param_suffix(item: pytest.Item) -> str:
    """Parameters other than the target stay in the test ID (``[case-3]``), so results do not collide."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return ""
    rest = str(callspec.id)
    target_name = target_param(item) or ""
    if rest == target_name:
        return ""
    if rest.startswith(target_name + "-"):
        rest = rest[len(target_name) + 1 :]
    elif rest.endswith("-" + target_name):
        rest = rest[: -len(target_name) - 1]
    return f"[{rest}]"


def _recorder(item: pytest.Item) -> EvidenceRecorder | None:
    target_obj = getattr(item, "funcargs", {}).get("target")
    return target_obj.recorder if isinstance(target_obj, TargetUnderTest) else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    run = run_of(item.config)
    name = target_param(item)
    if run is None or name is None:
        return
    if report.when == "setup" and report.passed:
        return  # the call phase decides
    if report.when == "teardown" and (report.passed or RESULT_KEY in item.stash):
        if report.failed and RESULT_KEY in item.stash:
            existing = item.stash[RESULT_KEY]
            if existing.outcome == Outcome.PASSED:
                existing.outcome = Outcome.ERROR
                existing.message = f"teardown failed: {report.longrepr}"[:_MESSAGE_CHARS]
        return
    result_outcome, message = outcome_of(report, call)
    if result_outcome in (Outcome.FAILED, Outcome.ERROR):
        message = with_liveness(run, message)
    elif result_outcome == Outcome.PASSED:
        # A passing test may leave a note for the report, e.g. a figure it measured:
        # record_property("atcheck_note", text).
        message = "\n".join(str(v) for k, v in item.user_properties if k == "atcheck_note")
    ids = requirement_ids(item)
    recorder = _recorder(item)
    result = TestResult(
        test_id=item.nodeid.split("[")[0] + param_suffix(item),
        target=name,
        requirement_ids=ids,
        level=level_of(ids),
        outcome=result_outcome,
        message=message,
        duration_s=round(report.duration, 4),
        evidence=list(recorder.exchanges) if recorder and result_outcome != Outcome.PASSED else [],
        role=role_of(item),
        peers=peers_of(item, name),
        interop=interop_of(item),
    )
    if result_outcome in (Outcome.FAILED, Outcome.ERROR):
        exc = call.excinfo.value if call.excinfo is not None else None
        # A failure Hypothesis wrapped (flaky on replay) carries the example in its own notes.
        notes = [*getattr(exc, "__notes__", []), *getattr(check_failure_in(exc) or exc, "__notes__", [])]
        add_hypothesis_details(result, str(report.longrepr or ""), [str(n) for n in notes])
    item.stash[RESULT_KEY] = result
    run.results.append(result)
    if report.failed and report.longrepr is not None:
        # The terminal (and so CI logs) shows longrepr: scrub the run's secrets from it as from the reports.
        report.longrepr = Redactor(run.stack.all_secrets()).text(str(report.longrepr))
    apply_baseline(run, result, report)
    terminal.progress(item, run, result)
