"""The interop matrix: per scenario, producer x consumer, how the tests between two implementations went.

A conformance verdict says whether one implementation follows the spec; the interop matrix says whether two of
them work *together* (reference -> arroba in a migration, arroba -> indigo-relay in federation). It is derived
from the results that declare a direction (:class:`~atcheck.report.model.Interop`, set by the
``@pytest.mark.interop`` marker), so every writer shows the same cells.

A result with several producers (a relay test judging every PDS it follows at once) counts in each pair's
cell. When it failed and its message names pairs as ``[producer -> consumer]`` (the federation suite's
failures do), the failure is charged to those pairs only and the others count it as passed: their check
passed. A failure that names no pair is charged to every pair of the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from atcheck.report.model import Outcome, RunReport, TestResult

#: Cell columns, in the order reports show them; ``known`` is a failure the baseline expected.
COLUMNS = ("passed", "failed", "known", "error", "skipped")

_PAIR_TAG = re.compile(r"\[([^\[\]\n]+?) -> ([^\[\]\n]+?)\]")


@dataclass
class Cell:
    """One (scenario, producer, consumer): result counts, and the results that made them."""

    scenario: str
    producer: str
    consumer: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    #: indexes into ``report.results``, failures first (new before known), then the rest in run order
    results: list[int] = field(default_factory=list)
    #: the column each of ``results`` was counted in
    columns: dict[int, str] = field(default_factory=dict)

    @property
    def worst(self) -> str:
        """The cell's colour: a new failure or error beats a known one, which beats a pass; else skipped."""
        for column in ("failed", "error", "known", "passed"):
            if self.counts[column]:
                return column
        return "skipped"


@dataclass
class Scenario:
    name: str
    producers: list[str]
    consumers: list[str]
    cells: dict[tuple[str, str], Cell]


def tagged_pairs(message: str) -> set[tuple[str, str]]:
    """The ``[producer -> consumer]`` pairs a failure message names."""
    return {(m.group(1).strip(), m.group(2).strip()) for m in _PAIR_TAG.finditer(message)}


def _column(result: TestResult, pair_failed: bool) -> str:
    if result.outcome == Outcome.SKIPPED:
        return "skipped"
    if result.outcome == Outcome.PASSED or not pair_failed:
        return "passed"
    if result.known_failure:
        return "known"
    return "failed" if result.outcome == Outcome.FAILED else "error"


def interop_matrix(report: RunReport) -> list[Scenario]:
    """Every scenario the run's results declare, in order of first appearance, with its cells."""
    scenarios: dict[str, Scenario] = {}
    for i, result in enumerate(report.results):
        interop = result.interop
        if interop is None:
            continue
        pairs = [(p, c) for p in interop.producers for c in interop.consumers if p != c]
        if not pairs:
            continue
        scenario = scenarios.setdefault(interop.scenario, Scenario(interop.scenario, [], [], {}))
        failing = set(pairs)
        if result.outcome in (Outcome.FAILED, Outcome.ERROR):
            named = tagged_pairs(result.message) & failing
            failing = named or failing
        for producer, consumer in pairs:
            if producer not in scenario.producers:
                scenario.producers.append(producer)
            if consumer not in scenario.consumers:
                scenario.consumers.append(consumer)
            cell = scenario.cells.setdefault((producer, consumer), Cell(interop.scenario, producer, consumer))
            column = _column(result, (producer, consumer) in failing)
            cell.counts[column] += 1
            cell.results.append(i)
            cell.columns[i] = column
    rank = {"failed": 0, "error": 0, "known": 1}
    for scenario in scenarios.values():
        for cell in scenario.cells.values():
            cell.results.sort(key=lambda i: rank.get(cell.columns[i], 2))
    return list(scenarios.values())
