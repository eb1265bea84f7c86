"""Calibration: atcheck's own syntax verdicts judged against the reference libraries.

The ``libs`` suite trusts :mod:`atcheck.syntax` and judges each library by it. Calibration turns that round:
the same strings go to atcheck and to every library, and each place they differ is a *disagreement* that
must be explained by a spec sentence or an official vector (:mod:`atcheck.syntax_disagreements`). One left
unexplained means atcheck may be wrong (stricter or laxer than the spec) and someone must look.

Probes come from three places: every line of the official syntax vectors (whose own verdict then decides
any disagreement on them), Hypothesis draws of each grammar (valid values and near-misses, derandomized, a
fixed count per kind) and the seeded cases of :mod:`atcheck.libs.cases_syntax`, plus a hand list of edge
cases where libraries are known to read the specs differently (BCP-47, CID strings, AT-URIs, datetimes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from atcheck.libs import cases_syntax
from atcheck.libs.harness import Harness, Request
from atcheck.schema import identifiers
from atcheck.syntax import KINDS
from atcheck.syntax_disagreements import Known, classify

KIND_ORDER = tuple(KINDS)


@dataclass(frozen=True)
class Probe:
    """One string asked of everyone. ``expected`` is set when an official vector gives the verdict."""

    kind: str
    value: str
    source: str
    expected: bool | None = None


@dataclass(frozen=True)
class Disagreement:
    library: str
    probe: Probe
    atcheck: bool
    library_says: bool
    known: Known | None

    def describe(self) -> str:
        verdicts = f"atcheck {_word(self.atcheck)}, {self.library} {_word(self.library_says)}"
        return f"{self.probe.kind} {self.probe.value[:90]!r} ({self.probe.source}): {verdicts}"


def _word(accepted: bool) -> str:
    return "accepts" if accepted else "rejects"


@dataclass
class Cell:
    """One kind x library: how many probes were asked, answered, disagreed on, and explained."""

    cases: int = 0
    unsupported: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def classified(self) -> int:
        return sum(1 for d in self.disagreements if d.known is not None)


class Judge(Protocol):
    """A library's verdicts on a batch of probes: True (accepts), False (rejects), None (unsupported)."""

    name: str

    def judge(self, probes: Sequence[Probe]) -> list[bool | None]: ...


class HarnessJudge:
    """A library harness (``syntax.valid``) as a judge; batches keep the pipe busy."""

    def __init__(self, name: str, harness: Harness, batch: int = 500) -> None:
        self.name = name
        self._harness = harness
        self._batch = batch

    def judge(self, probes: Sequence[Probe]) -> list[bool | None]:
        out: list[bool | None] = []
        for start in range(0, len(probes), self._batch):
            chunk = probes[start : start + self._batch]
            answers = self._harness.batch(
                Request("syntax.valid", {"kind": p.kind, "value": p.value}) for p in chunk
            )
            out.extend(None if a.kind == "unsupported" else a.accepted for a in answers)
        return out


# -- probes ------------------------------------------------------------------------------------------------


def vector_probes(vectors: Path) -> list[Probe]:
    """Every syntax vector line, with the vector's own verdict (``*_parse_invalid`` lines as cases_syntax
    asks them: only datetimes, which a syntax check must refuse)."""
    return [
        Probe(str(c.args["kind"]), str(c.args["value"]), c.source, expected=c.expect == "accept")
        for c in cases_syntax.vector_cases(vectors)
    ]


def case_probes() -> list[Probe]:
    """The libs suite's own boundary rules and seeded near-misses (no verdict of their own here)."""
    cases = [*cases_syntax.rule_cases(), *cases_syntax.generated_cases()]
    return [
        Probe(str(c.args["kind"]), str(c.args["value"]), c.source) for c in cases if c.op == "syntax.valid"
    ]


def draw(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """Up to ``count`` distinct values of ``strategy``, the same on every run (derandomized, no database)."""
    seen: dict[str, None] = {}

    @settings(
        derandomize=True,
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: str) -> None:
        seen.setdefault(value)

    collect()
    return list(seen)


def hypothesis_probes(per_kind: int) -> list[Probe]:
    """``per_kind`` valid values and ``per_kind`` near-misses of every kind's grammar."""
    probes: list[Probe] = []
    for kind in KIND_ORDER:
        probes += [Probe(kind, v, "hypothesis valid") for v in draw(identifiers.valid(kind), per_kind)]
        misses = identifiers.invalid(kind).map(lambda pair: pair[0])
        probes += [Probe(kind, v, "hypothesis near-miss") for v in draw(misses, per_kind)]
    return probes


_CID32 = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
#: Edge cases where readings of the spec part ways; each is asked of everyone (no verdict of its own).
EDGE_CASES: dict[str, tuple[str, ...]] = {
    "language": (
        "EN-us",
        "en-us",
        "EN-US",
        "en-US",
        "zh-yue",
        "zh-cmn-Hans-CN",
        "x-whatever",
        "X-Whatever",
        "i-klingon",
        "I-KLINGON",
        "en-GB-oed",
        "sgn-BE-FR",
        "art-lojban",
        "de-CH-1901",
        "sl-rozaj-biske",
        "en-a-bbb-x-a-ccc",
        "en-Latn-GB-boont-r-extended-sequence-x-private",
        "abcd",
        "abcde",
        "abcdefgh",
        "abcdefghi",
        "de-419-DE",
        "en--US",
        "en-US-",
        "-en",
        "en-x",
        "en-x-",
        "x",
        "en-a",
        "en-a-b",
        "en-US-u-ca-gregory-u-nu-latn",
        "de-1901-1901",
        "ar-a-aaa-b-bbb-a-ccc",
        "en-123",
        "en-1234",
        "en-Latn-Cyrl",
        "zh-abc-def-ghi",
        "zh-abc-def-ghi-jkl",
        "en-x-verylonger",
        "en-x-abcdefgh",
        "en-\u00e9",
        "en US",
        "en_US",
        "EN",
    ),
    "cid": (
        _CID32,
        _CID32.upper(),
        "B" + _CID32[1:].upper(),
        "z" + "Q" * 40,
        "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
        "bafy",
        "bafyrei",
        "b" + "a" * 300,
        "mAXESIA",
        "uAXESIA",
        "f01711220" + "ab" * 32,
        "F01711220" + "AB" * 32,
        _CID32 + "=",
        "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hp",
        "cid:" + _CID32,
        _CID32 + "\n",
    ),
    "at-uri": (
        "at://did:plc:asdfghjklzxcvbnmqwertyui",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/",
        "at://Alice.Example.com/com.example.thing/k",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/self/",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/a%20b",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/.",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/..",
        "at://did:plc:asdfghjklzxcvbnmqwertyui?x=1",
        "at://did:plc:asdfghjklzxcvbnmqwertyui#/frag",
        "at://did:web:example.com%3A8080/com.example.thing/k",
        "at://did:plc:abc%/com.example.thing/k",
        "AT://alice.example.com",
        "at:/alice.example.com",
        "at://alice.example.com//k",
        "at://alice.example.com/com.example.thing/k k",
    ),
    "datetime": (
        "1985-04-12T23:20:50Z",
        "1985-04-12T23:20:50.Z",
        "1985-04-12T23:20:50,123Z",
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00+01:00",
        "0000-01-01T00:00:00-01:00",
        "9999-12-31T23:59:59.999Z",
        "1985-04-12T23:20:60Z",
        "2016-12-31T23:59:60Z",
        "2023-02-29T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "1985-04-12T23:20:50.123+24:00",
        "1985-04-12T23:20:50.123+23:59",
        "1985-04-12T23:20:50.1234567890Z",
        "1985-04-12T23:20:50.123+05",
        "1985-04-12T23:20:50.123+0530",
        "19850412T232050Z",
        "1985-04-12T23:20:50.123z",
        "1985-04-12t23:20:50.123Z",
        "1985-04-12T23:20:50.123-00:00",
        "1985-04-12T23:20:50.123+00:00",
        "1985-4-12T23:20:50Z",
        "1985-04-12T24:00:00Z",
    ),
}


def edge_probes() -> list[Probe]:
    return [Probe(kind, v, "edge case") for kind, values in EDGE_CASES.items() for v in values]


def all_probes(vectors: Path | None, per_kind: int) -> list[Probe]:
    """Every probe once per (kind, value); a vector line wins over other sources of the same string."""
    sources: list[Probe] = [
        *(vector_probes(vectors) if vectors is not None else []),
        *edge_probes(),
        *case_probes(),
        *hypothesis_probes(per_kind),
    ]
    unique: dict[tuple[str, str], Probe] = {}
    for probe in sources:
        unique.setdefault((probe.kind, probe.value), probe)
    return list(unique.values())


# -- comparing ---------------------------------------------------------------------------------------------


@dataclass
class Calibration:
    """Every cell of kind x library, plus libraries that could not be run and why."""

    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    libraries: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    atcheck_vs_vectors: list[Probe] = field(default_factory=list)

    def disagreements(self) -> list[Disagreement]:
        return [d for cell in self.cells.values() for d in cell.disagreements]

    def unclassified(self) -> list[Disagreement]:
        return [d for d in self.disagreements() if d.known is None]


def atcheck_verdicts(probes: Sequence[Probe]) -> list[bool]:
    return [KINDS[p.kind](p.value) for p in probes]


def compare(
    calibration: Calibration,
    judge: Judge,
    probes: Sequence[Probe],
    ours: Sequence[bool] | None = None,
) -> None:
    """Ask ``judge`` every probe and file each answer under its kind x library cell."""
    ours = atcheck_verdicts(probes) if ours is None else ours
    theirs = judge.judge(probes)
    calibration.libraries.append(judge.name)
    for probe, mine, said in zip(probes, ours, theirs, strict=True):
        cell = calibration.cells.setdefault((probe.kind, judge.name), Cell())
        if said is None:
            cell.unsupported += 1
            continue
        cell.cases += 1
        if said != mine:
            known = classify(judge.name, probe.kind, probe.value, mine, said, probe.expected)
            cell.disagreements.append(Disagreement(judge.name, probe, mine, said, known))


def check_vectors(calibration: Calibration, probes: Iterable[Probe]) -> None:
    """atcheck itself against every vector line (a miss is an atcheck bug, whatever the libraries say)."""
    calibration.atcheck_vs_vectors = [
        p for p in probes if p.expected is not None and KINDS[p.kind](p.value) != p.expected
    ]


def table_lines(calibration: Calibration) -> list[str]:
    """The kind x library table: cases / disagreements / classified per cell (``-`` where not asked)."""
    libs = calibration.libraries
    width = max([14, *(len(name) + 2 for name in libs)])
    lines = ["kind".ljust(14) + "".join(name.rjust(width) for name in libs)]
    lines.append(" " * 14 + "".join("cases/dis/cls".rjust(width) for _ in libs))
    for kind in KIND_ORDER:
        row = kind.ljust(14)
        for name in libs:
            cell = calibration.cells.get((kind, name))
            if cell is None or cell.cases == 0:
                row += "unsupported".rjust(width) if cell else "-".rjust(width)
                continue
            row += f"{cell.cases}/{len(cell.disagreements)}/{cell.classified}".rjust(width)
        lines.append(row)
    for name, reason in calibration.not_run.items():
        lines.append(f"not run: {name}: {reason}")
    return lines


def class_lines(calibration: Calibration, show: int = 3) -> list[str]:
    """Each disagreement class once, with who is right, the deciding sentence and a few examples; then
    every unclassified disagreement (up to 40)."""
    by_class: dict[str, list[Disagreement]] = {}
    for d in calibration.disagreements():
        if d.known is not None:
            by_class.setdefault(d.known.id, []).append(d)
    lines: list[str] = []
    for known_id in sorted(by_class):
        found = by_class[known_id]
        known = found[0].known
        assert known is not None
        lines.append(f"[{known_id}] {len(found)} case(s); {known.summary}; right: {known.right}")
        lines.append(f"    decided by: {known.decided_by}")
        lines += [f"    e.g. {d.describe()}" for d in found[:show]]
    unclassified = calibration.unclassified()
    if unclassified:
        lines.append(f"UNCLASSIFIED: {len(unclassified)} disagreement(s)")
        lines += [f"    {d.describe()}" for d in unclassified[:40]]
    return lines


Opener = Callable[[], Judge]


# -- Lexicon format validators (@atproto/lexicon, lexrpc) --------------------------------------------------

_NSID_PREFIX = "com.example.atcheck.calibrate."


def _nsid_of(kind: str) -> str:
    head, *rest = kind.split("-")
    return _NSID_PREFIX + head + "".join(part.title() for part in rest)


def format_lexicons() -> list[dict[str, object]]:
    """One record Lexicon per string format: ``{v: string, format: <kind>}``, so a record validator's answer
    on ``{"v": value}`` is its format check's verdict on ``value``."""
    return [
        {
            "lexicon": 1,
            "id": _nsid_of(kind),
            "defs": {
                "main": {
                    "type": "record",
                    "key": "any",
                    "record": {
                        "type": "object",
                        "required": ["v"],
                        "properties": {"v": {"type": "string", "format": kind}},
                    },
                }
            },
        }
        for kind in KIND_ORDER
    ]


class RecordValidator(Protocol):
    def validate(self, items: Sequence[tuple[str, str, object]]) -> list[tuple[bool, str | None]]: ...


class FormatJudge:
    """A Lexicon record validator as a judge of string formats (each probe wrapped in a one-field record)."""

    def __init__(self, name: str, validator: RecordValidator) -> None:
        self.name = name
        self._validator = validator

    def judge(self, probes: Sequence[Probe]) -> list[bool | None]:
        items = [(_nsid_of(p.kind), "record", {"$type": _nsid_of(p.kind), "v": p.value}) for p in probes]
        return [valid for valid, _ in self._validator.validate(items)]
