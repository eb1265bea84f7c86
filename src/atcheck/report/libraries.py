"""The library matrix: per catalogue requirement, each library's verdict, how many cases disagreed, and speed.

Library targets (role ``lib``, see :mod:`atcheck.libs`) answer hundreds of cases per requirement; a cell of
the main matrix says only passed or failed. This view says, for each requirement a library test named, how
many of its cases the library got wrong ("3 of 40"), and, per library, how many cases per second its harness
answered. It reads the results' messages, which the library suite writes in a fixed form
(:func:`atcheck.suite.libs.check_cases`): ``N of M cases disagree`` and ``R cases/s``. The disagreeing inputs
themselves are in each failure's message and evidence (one ``HARNESS`` exchange per input).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from atcheck.report.model import Outcome, RunReport, TestResult

_DISAGREE = re.compile(r"(\d+) of (\d+) cases disagree")
_AGREE = re.compile(r"(\d+)/(\d+) cases agree \((\d+) unsupported\)")
_RATE = re.compile(r"([\d.]+) cases/s")


@dataclass
class LibraryCell:
    """One (requirement, library): the folded outcome and the case counts behind it."""

    outcome: str  # passed | failed | error | skipped
    disagree: int = 0
    judged: int = 0
    message: str = ""


@dataclass
class LibraryMatrix:
    libraries: list[str]
    rows: dict[str, dict[str, LibraryCell]] = field(default_factory=dict)  # requirement -> library -> cell
    cases: dict[str, int] = field(default_factory=dict)  # library -> cases asked (where a rate was given)
    seconds: dict[str, float] = field(default_factory=dict)  # library -> seconds those took

    def rate(self, library: str) -> float | None:
        seconds = self.seconds.get(library, 0.0)
        return self.cases[library] / seconds if seconds > 0 else None


_RANK = {"error": 3, "failed": 2, "passed": 1, "skipped": 0}


def _counts(result: TestResult) -> tuple[int, int, int | None]:
    """(disagreeing, judged, asked) read from a library result's message; asked None when not said."""
    agree = _AGREE.search(result.message)
    asked = int(agree.group(2)) + int(agree.group(3)) if agree else None
    found = _DISAGREE.search(result.message)
    if found:
        return int(found.group(1)), int(found.group(2)), asked
    return 0, int(agree.group(2)) if agree else 0, asked


def library_matrix(report: RunReport) -> LibraryMatrix | None:
    """The matrix of the run's library targets, or None when the run had none."""
    libraries = [t.name for t in report.targets if t.roles == ["lib"]]
    if not libraries:
        return None
    matrix = LibraryMatrix(libraries)
    for result in report.results:
        if result.target not in libraries or result.role != "lib":
            continue
        disagree, judged, asked = _counts(result)
        rate = _RATE.search(result.message)
        if rate and asked and float(rate.group(1)) > 0:
            matrix.cases[result.target] = matrix.cases.get(result.target, 0) + asked
            matrix.seconds[result.target] = matrix.seconds.get(result.target, 0.0) + asked / float(
                rate.group(1)
            )
        outcome = str(result.outcome)
        if result.outcome == Outcome.FAILED and result.known_failure:
            outcome = "failed"
        for req_id in result.requirement_ids:
            cells = matrix.rows.setdefault(req_id, {})
            cell = cells.get(result.target)
            if cell is None:
                cells[result.target] = LibraryCell(outcome, disagree, judged, result.message)
                continue
            cell.disagree += disagree
            cell.judged += judged
            if _RANK.get(outcome, 0) > _RANK.get(cell.outcome, 0):
                cell.outcome, cell.message = outcome, result.message
    matrix.rows = dict(sorted(matrix.rows.items()))
    return matrix


def cell_text(cell: LibraryCell | None) -> str:
    """A cell in a few characters: ``✓ 40``, ``✗ 3 of 40``, ``error``, ``skip`` or ``—``."""
    if cell is None:
        return "—"
    if cell.outcome == "passed":
        return f"✓ {cell.judged}"
    if cell.outcome == "failed":
        return f"✗ {cell.disagree} of {cell.judged}"
    return "error" if cell.outcome == "error" else "skip"
