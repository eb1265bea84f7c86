"""Figures derived from a run: verdict counts per target and level, result counts, coverage.

Every writer shows the same numbers, so they are computed once, here, from the matrix
(:func:`atcheck.report.model.requirement_matrix`) rather than by each writer on its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from atcheck.report.model import Outcome, RunReport, TestResult, Verdict, requirement_matrix

#: Levels in the order reports show them; any other level found in a catalogue is shown after these.
LEVEL_ORDER = ("MUST", "SHOULD", "MAY")

#: Verdicts in the order reports show them.
VERDICT_ORDER = (
    Verdict.PASSED,
    Verdict.FAILED,
    Verdict.ERROR,
    Verdict.SKIPPED,
    Verdict.UNTESTED,
    Verdict.NOT_RUN,
)

OUTCOME_ORDER = (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED)

Matrix = dict[tuple[str, str], Verdict]

FAILING = (Outcome.FAILED, Outcome.ERROR)


def known_failure(result: TestResult) -> str | None:
    """The baseline's reason when this failure was expected (reported as failed, but not a new failure)."""
    return result.known_failure or None


@dataclass
class TargetSummary:
    name: str
    status: str
    reason: str | None
    #: results of this target counted by outcome (every outcome present, zeros included)
    outcomes: dict[str, int]
    #: failed or errored results that the baseline expected
    known_failures: int
    #: level -> verdict -> number of requirements (every level of the catalogue, every verdict)
    verdicts: dict[str, dict[str, int]]
    #: a MUST requirement failed or errored here, other than as a known failure: the run exits 1
    must_failed: bool


@dataclass
class Summary:
    requirements: int  # the whole catalogue
    tested: int  # requirements named by at least one test
    coverage: float  # tested / requirements, 0.0 for an empty catalogue
    must_failed: bool  # any target's must_failed
    levels: list[str]
    targets: list[TargetSummary] = field(default_factory=list)


def levels_of(report: RunReport) -> list[str]:
    """The catalogue's levels, MUST first."""
    present = {req.level for req in report.requirements}
    known = [level for level in LEVEL_ORDER if level in present]
    return known + sorted(present - set(LEVEL_ORDER))


def summarize(report: RunReport, matrix: Matrix | None = None) -> Summary:
    """Count verdicts and outcomes per target; ``matrix`` may be passed in when the caller has it already."""
    if matrix is None:
        matrix = requirement_matrix(report)
    levels = levels_of(report)
    level_of = {req.id: req.level for req in report.requirements}
    tested = sum(1 for req in report.requirements if req.tests)
    total = len(report.requirements)

    outcome_counts: dict[str, Counter[str]] = {t.name: Counter() for t in report.targets}
    known: Counter[str] = Counter()
    new_must_failure: set[str] = set()
    for result in report.results:
        outcome_counts.setdefault(result.target, Counter())[str(result.outcome)] += 1
        if result.outcome in FAILING:
            if known_failure(result):
                known[result.target] += 1
            elif any(level_of.get(req_id) == "MUST" for req_id in result.requirement_ids):
                new_must_failure.add(result.target)

    verdict_counts: dict[str, dict[str, Counter[str]]] = {
        t.name: {level: Counter() for level in levels} for t in report.targets
    }
    for (req_id, target_name), verdict in matrix.items():
        verdict_counts[target_name][level_of[req_id]][str(verdict)] += 1

    targets = []
    for target in report.targets:
        counts = verdict_counts[target.name]
        targets.append(
            TargetSummary(
                name=target.name,
                status=target.status,
                reason=target.reason,
                outcomes={str(o): outcome_counts[target.name][str(o)] for o in OUTCOME_ORDER},
                verdicts={level: {str(v): counts[level][str(v)] for v in VERDICT_ORDER} for level in levels},
                known_failures=known[target.name],
                must_failed=target.name in new_must_failure,
            )
        )
    return Summary(
        requirements=total,
        tested=tested,
        coverage=tested / total if total else 0.0,
        must_failed=any(t.must_failed for t in targets),
        levels=levels,
        targets=targets,
    )
