"""A subscription over time: an idle connection, two subscribers at once, a client that talks back.

Spec: https://atproto.com/specs/event-stream (§Connection, §Framing, §Sequence Numbers). The idle test is
the one long wait of the suite (60 s): nothing is written meanwhile, and whatever the server sends in that
time must be valid frames. Closing an idle connection is allowed ("Either the server or the client may
decide to drop an open stream connection"), but only with a WebSocket close, not with other bytes. Every
target's idle window is the same minute, at the end of the run (``idle_observation`` in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atcheck.suite import Account, Frame, IdleObservation, StreamFailure, Subscription, note, write_record

pytestmark = pytest.mark.needs("sync.subscribe-repos")

OpenStream = Callable[..., Subscription]
EVENT_TIMEOUT_S = 15.0
COLLECTION = "com.example.atcheck.firehose"


@pytest.mark.requirement("SYNC-ES-01")
@pytest.mark.together
def test_an_idle_connection_carries_only_valid_frames(idle_observation: IdleObservation) -> None:
    """For 60 s without events the connection carries nothing but valid binary frames (or a proper close);
    a reading of anything else (bytes that are not a WebSocket frame, text, bad CBOR) fails."""
    if idle_observation.failure is not None and not idle_observation.closed_properly:
        raise idle_observation.failure
    # else: it stayed open, or the server closed the idle stream with a WebSocket close: allowed


@pytest.mark.requirement("SYNC-ES-09")
def test_two_subscribers_see_the_same_sequence(account: Account, open_stream: OpenStream) -> None:
    """Sequence numbers belong to the (host, endpoint): two live subscribers get the same events with the
    same seqs, in the same order."""
    with open_stream(label="subscriber A") as one, open_stream(label="subscriber B") as two:
        rkeys = [
            write_record(account, note(f"both {i}", collection=COLLECTION), collection=COLLECTION).rkey
            for i in range(4)
        ]
        last = f"{COLLECTION}/{rkeys[-1]}"

        def done(frame: Frame) -> bool:
            ops = frame.body.get("ops") or []
            return any(isinstance(o, dict) and o.get("path") == last for o in ops)

        seen_one = one.read_until(done, EVENT_TIMEOUT_S, what=f"the #commit of {last}")
        seen_two = two.read_until(done, EVENT_TIMEOUT_S, what=f"the #commit of {last}")
    a = [(f.seq, f.t, f.did, f.body.get("commit")) for f in seen_one if f.seq is not None]
    b = [(f.seq, f.t, f.did, f.body.get("commit")) for f in seen_two if f.seq is not None]
    # One subscriber may have joined a moment before the other: compare from the first seq both could see.
    start = max(a[0][0], b[0][0]) if a and b else 0
    a = [e for e in a if e[0] >= start]
    b = [e for e in b if e[0] >= start]
    if a != b:
        raise StreamFailure(
            "the same events and seqs on both subscriptions", f"A {a[:6]} vs B {b[:6]}", two.name
        )


@pytest.mark.requirement("SYNC-ES-08")
def test_frames_from_the_client_are_ignored(account: Account, open_stream: OpenStream) -> None:
    """A server ignores frames a client sends (text or binary junk): the stream stays open and the next
    event still arrives."""
    with open_stream(label="client sends junk") as sub:
        sub.send(b"\xff\x00 junk")
        sub.send("junk text")
        got = write_record(account, note("after junk", collection=COLLECTION), collection=COLLECTION)
        path = f"{COLLECTION}/{got.rkey}"
        sub.read_until(
            lambda f: any(isinstance(o, dict) and o.get("path") == path for o in f.body.get("ops") or []),
            EVENT_TIMEOUT_S,
            what=f"the #commit of {path} after the client's junk frames",
        )
