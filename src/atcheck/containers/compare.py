"""Compare two targets of one report check by check: ``reference`` against ``reference@container``.

The container launcher must not change what a check sees: the same implementation, started from the same
manifest, must give the same outcome under either launcher. Any difference is a finding (of the launcher, of
the image, or a flaky check), so CI prints it and fails.

Without names, every pair ``NAME`` / ``NAME@container`` of the report is compared (:func:`launcher_pairs`).
A pair where one side did not run at all (its report entry says ``not-run``, with the reason: an image that
could not be built here, a program this machine lacks) is not compared, and says why. That fails the
comparison unless the pair is named optional (``--optional indigo-relay``: a target the machine may lack,
whose absence the report already explains).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atcheck.errors import UsageError
from atcheck.report.model import RunReport

#: How a suite says a check cannot run under one launcher (see :func:`atcheck.suite.skip_under_launcher`):
#: such a skip beside a verdict under the other launcher is not a difference, it is a check not compared.
LAUNCHER_SKIP = "not applicable under the "


@dataclass(frozen=True)
class Difference:
    test_id: str
    left: str  # outcome under the left target, or "absent"
    right: str
    detail: str  # the failing side's message, first line


CONTAINER_SUFFIX = "@container"


@dataclass(frozen=True)
class PairResult:
    """The comparison of one pair: the checks compared and their differences, or why it was not made."""

    left: str
    right: str
    total: int = 0
    differences: tuple[Difference, ...] = ()
    not_compared: str | None = None


def launcher_pairs(report: RunReport) -> list[tuple[str, str]]:
    """``(NAME, NAME@container)`` for every container target of the report whose process twin is there too."""
    names = [t.name for t in report.targets]
    return [
        (name.removesuffix(CONTAINER_SUFFIX), name)
        for name in names
        if name.endswith(CONTAINER_SUFFIX) and name.removesuffix(CONTAINER_SUFFIX) in names
    ]


def compare_pair(report: RunReport, left: str, right: str) -> PairResult:
    """:func:`compare`, unless a side did not run (then the reason, and nothing counted as different)."""
    by_name = {t.name: t for t in report.targets}
    for name in (left, right):
        info = by_name.get(name)
        if info is not None and info.status == "not-run":
            return PairResult(
                left, right, not_compared=f"{name} did not run: {info.reason or 'no reason given'}"
            )
    total, differences = compare(report, left, right)
    return PairResult(left, right, total, tuple(differences))


def outcomes(report: RunReport, target: str) -> dict[str, tuple[str, str]]:
    """test_id -> (outcome, first line of the message) for one target."""
    return {
        r.test_id: (r.outcome.value, (r.message.strip().splitlines() or [""])[0][:200])
        for r in report.results
        if r.target == target
    }


def _passed_or_known(report: RunReport, left: str, right: str) -> set[str]:
    """Tests that passed for one target and failed *as a known failure* for the other.

    Only a baseline entry that allows a pass (``strict = false``: a server's behaviour that is known to
    vary from run to run, such as a relay racing two hosts' events) lets a known failure stand beside a
    pass: a strict entry that passes fails the run on its own. Two launchers can draw the two sides of such
    a behaviour, which says nothing about the launcher, so it is not counted as a difference.
    """
    failed_known = {
        (r.target, r.test_id) for r in report.results if r.outcome.value == "failed" and r.known_failure
    }
    passed = {(r.target, r.test_id) for r in report.results if r.outcome.value == "passed"}
    other = {left: right, right: left}
    return {test_id for (target, test_id) in failed_known if (other.get(target), test_id) in passed}


def compare(report: RunReport, left: str, right: str) -> tuple[int, list[Difference]]:
    """The number of checks compared and the ones whose outcomes differ (or that ran for one target only)."""
    names = {t.name for t in report.targets}
    missing = [n for n in (left, right) if n not in names]
    if missing:
        raise UsageError(
            f"target(s) {', '.join(missing)} not in the report (it has: {', '.join(sorted(names))})"
        )
    a, b = outcomes(report, left), outcomes(report, right)
    intermittent = _passed_or_known(report, left, right)
    differences = []
    for test_id in sorted(set(a) | set(b)):
        left_outcome, left_message = a.get(test_id, ("absent", ""))
        right_outcome, right_message = b.get(test_id, ("absent", ""))
        one_side_inapplicable = any(
            outcome == "skipped" and message.startswith(LAUNCHER_SKIP)
            for outcome, message in ((left_outcome, left_message), (right_outcome, right_message))
        )
        if left_outcome != right_outcome and not one_side_inapplicable and test_id not in intermittent:
            detail = right_message if right_outcome not in ("passed", "absent") else left_message
            differences.append(Difference(test_id, left_outcome, right_outcome, detail))
    return len(set(a) | set(b)), differences


def compare_file(path: Path, left: str | None = None, right: str | None = None) -> list[PairResult]:
    """Compare ``left`` and ``right`` of the report at ``path`` (a report.json or its run directory), or,
    without names, every launcher pair in it."""
    from atcheck.report.json_writer import read_report

    if path.is_dir():
        path = path / "report.json"
    report = read_report(path)
    if left is None and right is None:
        pairs = launcher_pairs(report)
        if not pairs:
            names = ", ".join(sorted(t.name for t in report.targets))
            raise UsageError(f"the report has no NAME / NAME@container pair to compare (it has: {names})")
        return [compare_pair(report, a, b) for a, b in pairs]
    if left is None or right is None:
        raise UsageError("name both targets (--left and --right), or neither to compare every launcher pair")
    return [compare_pair(report, left, right)]
