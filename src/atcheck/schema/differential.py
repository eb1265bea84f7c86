"""Differential testing: atcheck's verdict against the reference validators' on the same generated records.

For every record type, generate valid records (:func:`from_lexicon`) and near-miss invalid ones
(:func:`invalid_from_lexicon`, one constraint broken), then ask atcheck, @atproto/lexicon and lexrpc. The
generator's intent is the expected verdict. Every case where a validator's verdict differs from the intent is
a disagreement; each is matched against :data:`atcheck.schema.disagreements.KNOWN`, which records the spec
sentence that decides it. An unmatched disagreement is a finding to fix (in atcheck or the generator) or to
record there.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from atcheck.schema.disagreements import KNOWN, Known, classify
from atcheck.schema.generate import Mutation, from_lexicon, invalid_from_lexicon
from atcheck.schema.registry import SchemaRegistry
from atcheck.schema.sources import LexiconSet


class Oracle(Protocol):
    name: str

    def validate(self, items: Sequence[tuple[str, str, Any]]) -> list[tuple[bool, str | None]]: ...


@dataclass(frozen=True)
class Case:
    nsid: str
    record: dict[str, Any]
    expected: bool
    mutation: Mutation | None


@dataclass
class Disagreement:
    case: Case
    validator: str
    verdict: bool
    error: str | None
    known: Known | None


@dataclass
class Report:
    seed: int
    cases: int = 0
    valid_cases: int = 0
    types: int = 0
    generation_s: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)

    def counts(self) -> Counter[tuple[str, str]]:
        """(validator, known class id or 'UNEXPLAINED') -> count."""
        return Counter((d.validator, d.known.id if d.known else "UNEXPLAINED") for d in self.disagreements)

    def unexplained(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.known is None]


def collect(strategy: st.SearchStrategy[Any], count: int, seed_value: int) -> list[Any]:
    """``count`` draws from ``strategy``, reproducibly per seed (no example database, no shrinking)."""
    out: list[Any] = []

    @seed(seed_value)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value: Any) -> None:
        out.append(value)

    draw()
    return out


def generate_cases(lexicons: LexiconSet, nsids: Sequence[str], per_type: int, seed_value: int) -> list[Case]:
    """``per_type`` valid and ``per_type`` invalid records for each record type."""
    cases: list[Case] = []
    for i, nsid in enumerate(nsids):
        for record in collect(from_lexicon(nsid, lexicons), per_type, seed_value + i):
            cases.append(Case(nsid, record, True, None))
        for record, mutation in collect(invalid_from_lexicon(nsid, lexicons), per_type, seed_value + i):
            cases.append(Case(nsid, record, False, mutation))
    return cases


def run(
    lexicons: LexiconSet,
    oracles: Sequence[Oracle],
    *,
    per_type: int,
    seed_value: int,
    nsids: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    registry = SchemaRegistry.from_lexicons(lexicons)
    types = list(nsids) if nsids is not None else registry.record_types()
    report = Report(seed=seed_value, types=len(types))
    started = time.perf_counter()
    cases = generate_cases(lexicons, types, per_type, seed_value)
    report.generation_s = time.perf_counter() - started
    report.cases = len(cases)
    report.valid_cases = sum(c.expected for c in cases)
    if progress:
        progress(
            f"generated {len(cases)} records over {len(types)} record types in {report.generation_s:.1f}s"
        )

    started = time.perf_counter()
    ours = [(not registry.record_errors(c.record), registry.record_errors(c.record)) for c in cases]
    report.seconds["atcheck"] = time.perf_counter() - started
    verdicts: dict[str, list[tuple[bool, str | None]]] = {
        "atcheck": [(ok, errs[0] if errs else None) for ok, errs in ours]
    }
    items = [(c.nsid, "record", c.record) for c in cases]
    for oracle in oracles:
        started = time.perf_counter()
        verdicts[oracle.name] = oracle.validate(items)
        report.seconds[oracle.name] = time.perf_counter() - started
    for name, results in verdicts.items():
        for case, (verdict, error) in zip(cases, results, strict=True):
            if verdict != case.expected:
                report.disagreements.append(
                    Disagreement(
                        case, name, verdict, error, classify(name, case.mutation, error, case.record)
                    )
                )
    return report


def summary_lines(report: Report) -> list[str]:
    lines = [
        f"seed {report.seed}: {report.cases} records ({report.valid_cases} valid, "
        f"{report.cases - report.valid_cases} invalid) over {report.types} record types",
    ]
    names = list(report.seconds)
    for name in names:
        n = sum(1 for d in report.disagreements if d.validator == name)
        lines.append(f"  {name:18} disagreements with the generator's intent: {n}")
    for (validator, known_id), n in sorted(report.counts().items()):
        text = KNOWN[known_id].summary if known_id in KNOWN else "not explained: investigate"
        lines.append(f"    {validator:16} {known_id:28} {n:6}  {text}")
    return lines


@dataclass(frozen=True)
class LintDisagreement:
    name: str
    atcheck_valid: bool
    reference_valid: bool
    reference_error: str | None
    known: Any


def lint_agreement(documents: Sequence[tuple[str, Any]], node: Any) -> tuple[int, list[LintDisagreement]]:
    """Compare ``atcheck schema lint`` with @atproto/lexicon's parseLexiconDoc over ``(name, doc)`` pairs."""
    from atcheck.schema.disagreements import LINT_CASES
    from atcheck.schema.lint import lint_document

    theirs = node.lint([doc for _, doc in documents])
    out = []
    for (name, doc), (ok, error) in zip(documents, theirs, strict=True):
        ours = not any(i.severity == "error" for i in lint_document(doc))
        if ours != ok:
            out.append(LintDisagreement(name, ours, ok, error, LINT_CASES.get(name)))
    return len(documents), out
