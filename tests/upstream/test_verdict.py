"""The verdict logic on recorded relay output: a relay that passes an invalid event fails.

The "relays" here are recorded streams built from the script itself: a perfect relay (every honest commit,
plus exactly the discontinuous commits the spec says to pass through), a relay that forwards everything,
one that forwards one invalid event, and one that loses an honest commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from atcheck.oracle.cbor import Value, decode_prefix, decode_strict
from atcheck.upstream.cases import CASES, build_script
from atcheck.upstream.script import Frame, Script, ScriptBuilder
from atcheck.upstream.verdict import RelayEvent, judge


@pytest.fixture(scope="module")
def script() -> Iterator[Script]:
    def plc(request: httpx.Request) -> httpx.Response:
        json.loads(request.content)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(plc)) as client:
        builder = ScriptBuilder(client, "http://plc.test", "http://localhost:4321")
        build_script(builder)
    yield builder.script


def _event(frame: Frame) -> RelayEvent | None:
    try:
        header, pos = decode_prefix(frame.data)
        body = decode_strict(frame.data[pos:])
    except Exception:
        return None  # a relay cannot pass on what does not decode
    assert isinstance(header, dict) and isinstance(body, dict)
    kind = header["t"]
    assert isinstance(kind, str)
    return kind, body


def _relay(script: Script, keep: object) -> list[RelayEvent]:
    out: list[RelayEvent] = []
    for frame in script.frames:
        if callable(keep) and keep(frame):
            event = _event(frame)
            if event is not None:
                out.append(event)
    return out


def _perfect(script: Script) -> list[RelayEvent]:
    forward = {m.ref for m in script.marked if m.forward}
    honest = set(script.must_forward)
    return _relay(script, lambda f: f.ref in honest or f.ref in forward)


def test_a_perfect_relay_passes_every_case(script: Script) -> None:
    judgement = judge(script, _perfect(script))
    assert judgement.ok, [v.explain() for v in judgement.cases if not v.ok]
    assert len(judgement.cases) == len(CASES)
    assert {v.observed for v in judgement.cases} == {"dropped", "passed through"}


def test_a_relay_that_forwards_everything_fails_every_drop_case(script: Script) -> None:
    judgement = judge(script, _relay(script, lambda f: True))
    assert not judgement.ok
    failed = {v.case.name for v in judgement.cases if not v.ok}
    # malformed-cbor cannot be passed on by anyone (it does not decode), so it is judged dropped.
    assert failed == {c.name for c in CASES if not c.forward} - {"malformed-cbor"}
    verdict = judgement.verdict("bad-signature")
    assert verdict.observed == "passed through"
    assert "expected drop, observed passed through" in verdict.explain()
    assert "passed on: #commit did:plc:" in verdict.explain()


@pytest.mark.parametrize("case", [c.name for c in CASES if not c.forward and c.name != "malformed-cbor"])
def test_one_invalid_event_passed_on_fails_exactly_its_case(script: Script, case: str) -> None:
    events = _perfect(script)
    leaked = next(m.ref for m in script.marked if m.case == case)
    (frame,) = [f for f in script.frames if f.ref == leaked]
    event = _event(frame)
    assert event is not None
    judgement = judge(script, [*events, event])
    assert [v.case.name for v in judgement.cases if not v.ok] == [case]


def test_a_relay_that_drops_a_discontinuous_commit_fails_that_case(script: Script) -> None:
    dropped = next(m.ref for m in script.marked if m.case == "since-mismatch")
    events = [e for e in _perfect(script) if not dropped.matches(*e)]
    verdict = judge(script, events).verdict("since-mismatch")
    assert not verdict.ok and verdict.observed == "dropped"


def test_a_relay_that_loses_an_honest_commit_fails(script: Script) -> None:
    lost = script.must_forward[3]
    events = [e for e in _perfect(script) if not lost.matches(*e)]
    judgement = judge(script, events)
    assert not judgement.ok and judgement.honest_missing == [lost]


def test_other_hosts_events_are_ignored(script: Script) -> None:
    noise: dict[str, Value] = {
        "seq": 1,
        "did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
        "time": "x",
        "active": True,
    }
    assert judge(script, [("#account", noise), *_perfect(script)]).ok


def test_a_relay_that_never_reached_the_end_is_inconclusive_not_passing(script: Script) -> None:
    judgement = judge(script, [])
    assert not judgement.ok
    assert all(not v.ok and v.observed == "nothing conclusive" for v in judgement.cases)
    assert "never passed on the script's last honest commit" in judgement.verdict("bad-seq").details()
