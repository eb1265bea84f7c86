"""Distinct defects: what a reader of the summary counts, and whom each one is charged to.

A requirement x target matrix answers "which requirements hold"; it is a poor count of what went wrong. One
malformed-``$link`` leniency fails six parametrized cases, each naming three requirement IDs: counted per
requirement that is three failed MUSTs, counted per result eighteen. A **defect** here is one failing test
(its parametrized cases folded together) on one target, listed with every requirement ID its failing cases
name. The summary's MUST count is the number of such defects that name a MUST requirement, so one failure is
never counted three times, and the IDs it bears are still shown.

A defect is **charged to the role** its test checks: the test's ``@pytest.mark.role`` if it has one, else the
one service role its requirements' ``applies_to`` name (``plc`` for a PLC rendering rule), else ``pds`` when
they name it among others. A DID document rendered by the PLC is the PLC's, not the PDS's.

The headline (:func:`headline`) states the count plainly: new MUST failures first (those fail the run), then
those the baseline knows; never "no MUST requirement failed" above a list of failed MUSTs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from atcheck.report.model import Outcome, RunReport, TestResult

#: Roles a target's services play; ``applies_to`` also names libraries, clients and so on, which no
#: service of a target is.
SERVICE_ROLES = ("pds", "plc", "relay", "appview", "labeler")
_RANK = {"MUST": 0, "SHOULD": 1, "MAY": 2}


def charged_role(marked: str | None, applies_to: Iterable[Iterable[str]]) -> str | None:
    """The role a test checks: its marker, else the one service role its requirements apply to.

    ``applies_to`` holds one list per requirement the test names. When they name several service roles,
    ``pds`` wins if among them (the suites are written against a PDS and reach other services through it);
    otherwise the role is unknown (None) rather than guessed.
    """
    if marked:
        return marked
    roles = {role for names in applies_to for role in names if role in SERVICE_ROLES}
    if len(roles) == 1:
        return roles.pop()
    return "pds" if "pds" in roles else None


def test_function(test_id: str) -> str:
    """The test a result belongs to, without its parameters (``path::test_x[case]`` -> ``path::test_x``)."""
    return test_id.split("[", 1)[0]


@dataclass
class Defect:
    """One failing test on one target: however many cases failed and however many IDs they name."""

    target: str
    test: str  # the test function's ID, parameters stripped
    role: str | None  # the role it is charged to (None: not attributable)
    level: str  # the strongest level among the IDs its failing cases name
    requirement_ids: list[str]  # every ID its failing cases name, strongest level first
    cases: list[str] = field(default_factory=list)  # the failing test IDs (parametrized cases)
    known: bool = True  # every failing case is a known failure (baseline)
    new_levels: set[str] = field(
        default_factory=set
    )  # levels of its failing cases the baseline does not know
    reason: str | None = None  # the baseline's reason, when known
    message: str = ""  # the first failing case's message

    @property
    def new(self) -> bool:
        return not self.known


def defects(report: RunReport) -> list[Defect]:
    """The run's distinct defects, in result order (one per failing test function and target)."""
    level_of = {req.id: req.level for req in report.requirements}
    found: dict[tuple[str, str], Defect] = {}
    for result in report.results:
        if result.outcome not in (Outcome.FAILED, Outcome.ERROR):
            continue
        key = (result.target, test_function(result.test_id))
        defect = found.get(key)
        if defect is None:
            defect = found[key] = Defect(
                target=result.target,
                test=key[1],
                role=result.role,
                level=result.level,
                requirement_ids=[],
                message=result.message,
            )
        _add(defect, result, level_of)
    return list(found.values())


def _add(defect: Defect, result: TestResult, level_of: dict[str, str]) -> None:
    defect.cases.append(result.test_id)
    for req_id in result.requirement_ids:
        if req_id not in defect.requirement_ids:
            defect.requirement_ids.append(req_id)
    defect.requirement_ids.sort(key=lambda i: (_RANK.get(level_of.get(i, "MAY"), 9), i))
    levels = [level_of.get(i, "MAY") for i in defect.requirement_ids] + [result.level, defect.level]
    defect.level = min(levels, key=lambda lv: _RANK.get(lv, 9))
    if result.known_failure:
        defect.reason = defect.reason or result.known_failure
    else:
        defect.known = False
        defect.new_levels.add(result.level)


@dataclass
class DefectCounts:
    """MUST and SHOULD defects of one target (or of the run), new and known."""

    must_new: int = 0
    must_known: int = 0
    should: int = 0  # SHOULD defects, new or known (they never fail the run)
    may: int = 0

    @property
    def must(self) -> int:
        return self.must_new + self.must_known


def count(found: Iterable[Defect], target: str | None = None) -> DefectCounts:
    counts = DefectCounts()
    for defect in found:
        if target is not None and defect.target != target:
            continue
        if defect.level == "MUST":
            # New exactly when a MUST-level case is not in the baseline: what fails the run.
            if "MUST" in defect.new_levels:
                counts.must_new += 1
            else:
                counts.must_known += 1
        elif defect.level == "SHOULD":
            counts.should += 1
        else:
            counts.may += 1
    return counts


def _n(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def headline(report: RunReport, found: list[Defect] | None = None) -> str:
    """One plain sentence: how many distinct MUST failures, how many of them new. No markup."""
    if not report.results:
        return "no conformance test ran"
    counts = count(defects(report) if found is None else found)
    if counts.must_new:
        known = f", and {counts.must_known} known (baseline)" if counts.must_known else ""
        return f"{_n(counts.must_new, 'new MUST failure')}{known}"
    if counts.must_known:
        return f"{_n(counts.must_known, 'MUST check')} failed, all known (baseline)"
    return "no MUST check failed"


def headline_symbol(report: RunReport, found: list[Defect] | None = None) -> str:
    """❌: a new MUST failure fails the run; ⚠️: only known ones remain; ✅: none; ⚪: nothing ran."""
    if not report.results:
        return "⚪"
    counts = count(defects(report) if found is None else found)
    if counts.must_new:
        return "❌"
    return "⚠️" if counts.must_known else "✅"
