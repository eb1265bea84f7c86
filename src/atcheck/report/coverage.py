"""Per-area coverage: how much of each area of the catalogue has a test, and how each target fared there.

The headline coverage figure (tested / catalogue) hides where the gaps are; a reader choosing what to test
next, or judging an implementation, wants it per area. Computed here from the matrix so the HTML bars and any
other writer show the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from atcheck.report.model import RunReport, Verdict
from atcheck.report.summary import Matrix


@dataclass
class AreaCoverage:
    area: str
    requirements: int  # in the catalogue
    tested: int  # named by at least one test
    #: target name -> verdict -> number of the area's requirements
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.tested / self.requirements if self.requirements else 0.0


def area_coverage(report: RunReport, matrix: Matrix) -> list[AreaCoverage]:
    """One entry per area of the catalogue, sorted by area name."""
    by_area: dict[str, AreaCoverage] = {}
    counts: dict[tuple[str, str], Counter[str]] = {}
    for req in report.requirements:
        entry = by_area.setdefault(req.area, AreaCoverage(req.area, 0, 0))
        entry.requirements += 1
        entry.tested += 1 if req.tests else 0
        for target in report.targets:
            verdict = matrix.get((req.id, target.name), Verdict.NOT_RUN)
            counts.setdefault((req.area, target.name), Counter())[str(verdict)] += 1
    for (area, name), counter in counts.items():
        by_area[area].verdicts[name] = dict(counter)
    return [by_area[a] for a in sorted(by_area)]
