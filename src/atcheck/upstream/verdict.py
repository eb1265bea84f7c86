"""Judge a relay's output against the script: honest commits passed on, each hostile case as the spec says.

The input is what the relay emitted on its own ``subscribeRepos`` (decoded frames, any order, possibly
with other hosts' events mixed in); nothing else about the relay is assumed. So the same verdicts apply to
a recorded stream, which is how the self-tests show that a relay passing an invalid event fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from atcheck.oracle.cbor import Value
from atcheck.upstream.cases import CASES, Case
from atcheck.upstream.script import EventRef, Script

__all__ = ["CaseVerdict", "Judgement", "judge"]

RelayEvent = tuple[str, dict[str, Value]]
"""A frame of the relay's output: its type (``#commit``...) and decoded payload."""


@dataclass(frozen=True)
class CaseVerdict:
    case: Case
    passed_on: list[EventRef]
    """The case's marked events that came out of the relay."""
    held_back: list[EventRef]
    """The case's marked events that did not."""
    honest_missing: list[EventRef]
    """Honest commits of the case's account that the relay did not pass on."""
    inconclusive: str | None = None
    """Why nothing can be concluded (the relay never passed on the script's last honest commit)."""

    @property
    def observed(self) -> str:
        if self.inconclusive:
            return "nothing conclusive"
        if self.case.forward:
            return "passed through" if not self.held_back else "dropped"
        return "dropped" if not self.passed_on else "passed through"

    @property
    def ok(self) -> bool:
        expected_ok = not self.held_back if self.case.forward else not self.passed_on
        return expected_ok and not self.honest_missing and not self.inconclusive

    def details(self) -> str:
        """What went wrong, briefly: the events wrongly passed on or held back, and honest commits lost."""
        parts = [self.inconclusive] if self.inconclusive else []
        wrong = self.held_back if self.case.forward else self.passed_on
        if wrong:
            verb = "not passed on: " if self.case.forward else "passed on: "
            parts.append(verb + "; ".join(ref.describe() for ref in wrong))
        if self.honest_missing:
            parts.append(
                "honest commits of the account not passed on: "
                + "; ".join(ref.describe() for ref in self.honest_missing)
            )
        return " — ".join(parts)

    def explain(self) -> str:
        head = (
            f"{self.case.name}: sent {self.case.sends}; the spec says: {self.case.rule} "
            f"({self.case.source}); expected {self.case.expectation}, observed {self.observed}"
        )
        details = self.details()
        return head + (" — " + details if details else "")


@dataclass(frozen=True)
class Judgement:
    cases: list[CaseVerdict]
    honest_missing: list[EventRef]
    """Honest commits (of any account) the relay did not pass on."""
    honest_total: int

    @property
    def ok(self) -> bool:
        return not self.honest_missing and all(v.ok for v in self.cases)

    def verdict(self, name: str) -> CaseVerdict:
        for v in self.cases:
            if v.case.name == name:
                return v
        raise KeyError(name)


def _seen(ref: EventRef, events: list[RelayEvent]) -> bool:
    return any(ref.matches(kind, body) for kind, body in events)


def judge(script: Script, relay_events: Iterable[RelayEvent], cases: tuple[Case, ...] = CASES) -> Judgement:
    events = list(relay_events)
    missing = [ref for ref in script.must_forward if not _seen(ref, events)]
    # A relay that never got to the end of the script (or never subscribed) "drops" every hostile event;
    # that must not count as passing.
    inconclusive = None
    if script.sentinel is not None and script.sentinel in missing:
        inconclusive = (
            "the relay never passed on the script's last honest commit "
            f"({script.sentinel.describe()}), so it did not process the whole stream"
        )
    verdicts = []
    for case in cases:
        marked = [m.ref for m in script.marked if m.case == case.name]
        if not marked:
            continue
        dids = {ref.did for ref in marked}
        seen = [ref for ref in marked if _seen(ref, events)]
        verdicts.append(
            CaseVerdict(
                case,
                passed_on=seen,
                held_back=[ref for ref in marked if ref not in seen],
                honest_missing=[ref for ref in missing if ref.did in dids],
                inconclusive=inconclusive,
            )
        )
    return Judgement(verdicts, missing, len(script.must_forward))
