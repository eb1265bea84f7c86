"""Did several runs of the same targets give every test the same verdict?

A conformance verdict must depend on the server, not on the run: a result that passes in one run and fails
in the next, with nothing changed, is a verdict nobody can defend (a timing bound too tight, a draw that
depends on what ran before). ``atcheck report stability RUN RUN [RUN...]`` compares the runs result by
result, keyed by (target, test instance) as :mod:`atcheck.report.diff` does, and lists every result whose
verdict differs between runs, with its verdict in each run. A result's verdict is its outcome, plus whether
the baseline expected the failure; messages are not compared (they carry DIDs, ports and timings).

A result present in some runs but not others is listed apart ("not in every run"): the runs did not run
the same tests (a different ``-k``, a target that did not start), which is worth knowing but is not a
changed verdict. The exit status is 1 when any verdict differs, so CI can run a job several times and fail
on instability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atcheck.errors import UsageError
from atcheck.report.model import Outcome, RunReport, TestResult

Key = tuple[str, str]


def verdict_of(result: TestResult) -> str:
    """The verdict a run gave one result: ``passed``, ``failed (known)``, ``skipped`` ..."""
    if result.outcome in (Outcome.FAILED, Outcome.ERROR) and result.known_failure is not None:
        return f"{result.outcome.value} (known)"
    return result.outcome.value


@dataclass(frozen=True)
class Unstable:
    """One (target, test instance) and its verdict in each run, in the order the runs were given."""

    target: str
    test_id: str
    verdicts: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "test_id": self.test_id, "verdicts": list(self.verdicts)}


@dataclass
class Stability:
    runs: list[str]
    results: int = 0  # (target, test) keys present in every run
    identical: int = 0
    unstable: list[Unstable] = field(default_factory=list)
    partial: list[Key] = field(default_factory=list)  # present in some runs only

    @property
    def stable(self) -> bool:
        return not self.unstable

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "results": self.results,
            "identical": self.identical,
            "unstable": [u.to_json() for u in self.unstable],
            "not_in_every_run": [{"target": t, "test_id": i} for t, i in self.partial],
        }


def _verdicts(report: RunReport) -> dict[Key, str]:
    keyed: dict[Key, str] = {}
    for result in report.results:
        key = (result.target, result.test_id)
        # Should a key appear twice in one run, the failing verdict stands (as in the diff).
        if key not in keyed or result.outcome in (Outcome.FAILED, Outcome.ERROR):
            keyed[key] = verdict_of(result)
    return keyed


def compare_runs(reports: list[RunReport]) -> Stability:
    """Compare two or more runs result by result."""
    if len(reports) < 2:
        raise UsageError("stability needs at least two runs to compare")
    maps = [_verdicts(r) for r in reports]
    every = set(maps[0]).intersection(*maps[1:])
    some = set(maps[0]).union(*maps[1:])
    stability = Stability(runs=[r.run_id for r in reports], results=len(every), partial=sorted(some - every))
    for key in sorted(every):
        verdicts = tuple(m[key] for m in maps)
        if len(set(verdicts)) == 1:
            stability.identical += 1
        else:
            stability.unstable.append(Unstable(key[0], key[1], verdicts))
    return stability


def render_text(stability: Stability) -> str:
    runs = len(stability.runs)
    lines = [
        f"{runs} runs, {stability.results} results in every run: "
        f"{stability.identical} with the same verdict in all {runs}, {len(stability.unstable)} that differ"
    ]
    for u in stability.unstable:
        counts: dict[str, int] = {}
        for v in u.verdicts:
            counts[v] = counts.get(v, 0) + 1
        spread = ", ".join(f"{v} in {n}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        lines.append(f"  UNSTABLE [{u.target}] {u.test_id}: {spread} (by run: {' '.join(u.verdicts)})")
    if stability.partial:
        lines.append(f"{len(stability.partial)} result(s) not in every run (the runs ran different tests):")
        lines.extend(f"  [{t}] {i}" for t, i in stability.partial[:20])
        if len(stability.partial) > 20:
            lines.append(f"  ... and {len(stability.partial) - 20} more")
    return "\n".join(lines) + "\n"
