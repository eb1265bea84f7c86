"""Compare two targets of one report check by check: ``reference`` against ``reference@container``.

The container launcher must not change what a check sees: the same implementation, started from the same
manifest, must give the same outcome under either launcher. Any difference is a finding (of the launcher, of
the image, or a flaky check), so CI prints it and fails.
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


def outcomes(report: RunReport, target: str) -> dict[str, tuple[str, str]]:
    """test_id -> (outcome, first line of the message) for one target."""
    return {
        r.test_id: (r.outcome.value, (r.message.strip().splitlines() or [""])[0][:200])
        for r in report.results
        if r.target == target
    }


def compare(report: RunReport, left: str, right: str) -> tuple[int, list[Difference]]:
    """The number of checks compared and the ones whose outcomes differ (or that ran for one target only)."""
    names = {t.name for t in report.targets}
    missing = [n for n in (left, right) if n not in names]
    if missing:
        raise UsageError(
            f"target(s) {', '.join(missing)} not in the report (it has: {', '.join(sorted(names))})"
        )
    a, b = outcomes(report, left), outcomes(report, right)
    differences = []
    for test_id in sorted(set(a) | set(b)):
        left_outcome, left_message = a.get(test_id, ("absent", ""))
        right_outcome, right_message = b.get(test_id, ("absent", ""))
        one_side_inapplicable = any(
            outcome == "skipped" and message.startswith(LAUNCHER_SKIP)
            for outcome, message in ((left_outcome, left_message), (right_outcome, right_message))
        )
        if left_outcome != right_outcome and not one_side_inapplicable:
            detail = right_message if right_outcome not in ("passed", "absent") else left_message
            differences.append(Difference(test_id, left_outcome, right_outcome, detail))
    return len(set(a) | set(b)), differences


def compare_file(path: Path, left: str, right: str) -> tuple[int, list[Difference]]:
    from atcheck.report.json_writer import read_report

    if path.is_dir():
        path = path / "report.json"
    return compare(read_report(path), left, right)
