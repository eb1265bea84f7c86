"""Cursors on ``subscribeRepos``: replay from 0, resume from the middle, the future, and no cursor at all.

Spec: https://atproto.com/specs/event-stream (§Sequence Numbers) and the Lexicon
``com.atproto.sync.subscribeRepos`` (the ``cursor`` parameter, the ``FutureCursor`` error). The events
replayed are compared with what a live subscriber saw (the recorded history, conftest.py): the same seqs,
types, accounts and commits, with none missing.

Resuming is where the texts disagree. The event-stream spec's list says a cursor in the window replays
events with seq *greater or equal*; the same section says clients pass "the last sequence number they
received and successfully processed" and should treat a duplicate seq as an error, and the Lexicon calls the
cursor "the last known event seq". So the boundary has its own test and its own row,
SYNC-ES-18 (a should: the replay starts after the cursor, no duplicate on reconnect), while
:func:`test_a_cursor_replays_every_later_event` judges gaps (SYNC-ES-12) and accepts either boundary.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from atcheck.suite import (
    Account,
    Frame,
    History,
    StreamFailure,
    Subscription,
    case_tag,
    note,
    write_record,
)

pytestmark = pytest.mark.needs("sync.subscribe-repos")

OpenStream = Callable[..., Subscription]
COLLECTION = "com.example.atcheck.firehose"
REPLAY_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 3.0
#: After the replay reached the last seq seen live: how long the stream must be quiet to count as caught up.
REPLAY_QUIET_S = 0.3
#: The no-cursor test's set-up: writes tried, and how long each may take to show on a live stream.
SETUP_WRITES = 3
SETUP_WAIT_S = 5.0
#: How far past the newest seq a cursor is put to be "in the future".
FUTURE_MARGIN = 1_000_000


def _seqs(history: History) -> list[int]:
    history.require_complete()
    seqs = [f.seq for f in history.frames if f.seq is not None]
    if not seqs:
        raise StreamFailure("frames with seq in the history", "none", history.stream)
    return seqs


def _identity(frame: Frame) -> tuple[object, ...]:
    """What must be the same in a replayed event as in the live one."""
    return (frame.seq, frame.t, frame.did, frame.body.get("commit"), frame.body.get("rev"))


def _replay(sub: Subscription, until_seq: int) -> list[Frame]:
    """The replay up to ``until_seq``, then whatever else the server has to send (until it is quiet).

    Reading to the end matters: leaving in the middle of a replay has been seen to stall arroba's stream
    for every later subscriber, which would fail unrelated tests.
    """
    frames = sub.read_until(
        lambda f: f.seq is not None and f.seq >= until_seq,
        REPLAY_TIMEOUT_S,
        what=f"the replay to reach seq {until_seq}, the last event the live subscriber saw",
    )
    return frames + sub.drain(REPLAY_QUIET_S, REPLAY_TIMEOUT_S)


def _check_replayed(frames: list[Frame], history: History, after: int) -> None:
    """Every live event with seq > ``after`` is in ``frames``, once, in order, and the same event."""
    replayed = {f.seq: f for f in frames if f.seq is not None}
    last = 0
    for frame in frames:
        if frame.seq is not None:
            if frame.seq <= last:
                raise frame.fail(f"replayed seqs to increase (previous {last})", frame.seq)
            last = frame.seq
    for live in history.frames:
        if live.seq is None or live.seq <= after:
            continue
        again = replayed.get(live.seq)
        if again is None:
            raise StreamFailure(
                f"the replay to include seq {live.seq} ({live.summary()}), seen live",
                f"seqs {sorted(replayed)[:12]}...",
                frames[-1].stream if frames else history.stream,
            )
        if _identity(again) != _identity(live):
            raise again.fail(f"the same event as seen live: {live.summary()}", again.summary())


@pytest.mark.requirement("SYNC-ES-14")
def test_cursor_zero_replays_the_whole_window(history: History, open_stream: OpenStream) -> None:
    """``cursor=0`` starts at the oldest event still held: here that includes everything the live
    subscriber saw during the run (the window is hours or days), each event the same as live."""
    seqs = _seqs(history)
    with open_stream(cursor=0, label="cursor=0") as sub:
        frames = _replay(sub, max(seqs))
    first = next((f for f in frames if f.seq is not None), None)
    if first is None or first.seq is None or first.seq > min(seqs):
        raise StreamFailure(
            f"the replay to start at or before seq {min(seqs)} (seen live)",
            first.summary() if first else "no event",
            sub.name,
        )
    _check_replayed(frames, history, 0)


@pytest.mark.requirement("SYNC-ES-12")
def test_a_cursor_replays_every_later_event(history: History, open_stream: OpenStream) -> None:
    """A cursor inside the window replays the persisted events after it, then continues: no event the live
    subscriber saw after the cursor is missing, and nothing from before the cursor comes back. (Whether the
    cursor's own event is sent again is judged by the next test.)"""
    seqs = _seqs(history)
    cursor = seqs[len(seqs) // 2]
    with open_stream(cursor=cursor, label=f"cursor={cursor}") as sub:
        frames = _replay(sub, max(seqs))
    early = next((f for f in frames if f.seq is not None and f.seq < cursor), None)
    if early is not None:
        raise early.fail(f"no event from before the cursor {cursor}", early.summary())
    _check_replayed(frames, history, cursor)


@pytest.mark.requirement("SYNC-ES-18")
def test_a_cursor_resumes_after_the_event_it_names(history: History, open_stream: OpenStream) -> None:
    """The cursor is the last seq the client processed (Lexicon: "the last known event seq"), so the replay
    starts with the event after it; re-sending the cursor's own event gives every reconnecting client a
    duplicate, which the spec tells clients to treat as an error. (The spec's list says "greater-or-equal",
    so this is reported as a should; see the module docstring and the catalogue's note on SYNC-ES-12.)"""
    seqs = _seqs(history)
    cursor = seqs[len(seqs) // 2]
    with open_stream(cursor=cursor, label=f"cursor={cursor}") as sub:
        first = _replay(sub, max(seqs))[0]  # the whole replay, not just its first frame: see _replay
    if first.seq is None or first.seq <= cursor:
        raise first.fail(
            f"the first replayed event after the cursor {cursor} (seq > {cursor})", first.summary()
        )


@pytest.mark.requirement("SYNC-ES-11")
def test_a_future_cursor_gets_a_futurecursor_error(history: History, open_stream: OpenStream) -> None:
    """A cursor above the current seq is answered with an error frame ``FutureCursor`` (the Lexicon's
    error), as the first frame."""
    cursor = max(_seqs(history)) + FUTURE_MARGIN
    with open_stream(cursor=cursor, label=f"future cursor={cursor}") as sub:
        first = sub.read(1, CLOSE_TIMEOUT_S)[0]
    if not first.is_error or first.body.get("error") != "FutureCursor":
        raise first.fail(
            "an error frame (op -1) with error FutureCursor", f"{first.header} {first.summary()}"
        )


def _error_frame(history: History, open_stream: OpenStream) -> tuple[Subscription, Frame]:
    cursor = max(_seqs(history)) + FUTURE_MARGIN
    sub = open_stream(cursor=cursor, label=f"future cursor={cursor}")
    first = sub.read(1, CLOSE_TIMEOUT_S)[0]
    if not first.is_error:
        pytest.skip(
            f"no error frame for a future cursor (judged by the FutureCursor test): {first.summary()}"
        )
    return sub, first


@pytest.mark.requirement("SYNC-ES-06")
def test_an_error_frame_is_well_formed(history: History, open_stream: OpenStream) -> None:
    """An error payload is ``{error, message?}``, the name a bare string (no NSID, no ``#``). (Provoked
    with a future cursor.)"""
    _, first = _error_frame(history, open_stream)
    name, message = first.body.get("error"), first.body.get("message")
    if not isinstance(name, str) or not name or "#" in name or "." in name:
        raise first.fail("error: a bare error name like FutureCursor", name)
    if "message" in first.body and not isinstance(message, str):
        raise first.fail("message: a string when present", message)


@pytest.mark.requirement("SYNC-ES-19")
def test_the_stream_closes_after_an_error_frame(history: History, open_stream: OpenStream) -> None:
    """ "Streams should be closed immediately following transmitting ... an error frame": nothing follows
    the error frame, and the server closes the connection within a few seconds."""
    sub, _ = _error_frame(history, open_stream)
    try:
        after = sub.expect_closed(CLOSE_TIMEOUT_S)
    except StreamFailure as exc:
        raise StreamFailure(exc.expected, f"{exc.got} {case_tag('open-after-error')}", sub.name) from None
    if after:
        raise after[0].fail("the stream to close right after the error frame", after[0].summary())


def _a_write_of(account: Account, frame: Frame) -> bool:
    return (
        frame.t == "#commit"
        and frame.did == account.did
        and bool(frame.body.get("ops"))
        and frame.seq is not None
    )


def _seq_of_a_write(account: Account, open_stream: OpenStream) -> int:
    """The seq of a fresh write, seen on a live stream: the point the no-cursor test measures from.

    Only a set-up step. A server may take a moment after the upgrade before a new subscriber gets events
    (arroba registers it on another thread): so the stream is let settle first, as in the test itself, and
    a write the stream did not show is followed by another, up to ``SETUP_WRITES`` in all. A stream that
    shows none of them fails, as before.
    """
    with open_stream(label="before") as before:
        before.drain(0.5, 3.0)
        for attempt in range(1, SETUP_WRITES + 1):
            old = write_record(account, note(f"old-{attempt}", collection=COLLECTION), collection=COLLECTION)
            deadline = time.monotonic() + SETUP_WAIT_S
            while (frame := before.next(max(0.0, deadline - time.monotonic()))) is not None:
                if _a_write_of(account, frame):
                    # The newest of the writes so far, should an earlier try's commit come late.
                    later = [f.seq for f in before.drain(0.5, 3.0) if _a_write_of(account, f)]
                    return max(s for s in (frame.seq, *later) if s is not None)
    raise StreamFailure(
        f"the #commit of a write (the last: {old.uri}) within {SETUP_WAIT_S:g} s, in {SETUP_WRITES} tries",
        "no such frame",
        before.name,
    )


@pytest.mark.requirement("SYNC-ES-10")
def test_no_cursor_means_live_events_only(account: Account, open_stream: OpenStream) -> None:
    """Without a cursor the stream starts at the current position: a subscriber opened after a write does
    not get that write (or anything older); the first event it gets is the next write's commit."""
    old_seq = _seq_of_a_write(account, open_stream)
    with open_stream(label="no cursor") as sub:
        quiet = sub.drain(0.5, 3.0)
        stale = next((f for f in quiet if f.seq is not None and f.seq <= old_seq), None)
        if stale is not None:
            raise stale.fail(f"no replay of events up to seq {old_seq} without a cursor", stale.summary())
        new = write_record(account, note("new", collection=COLLECTION), collection=COLLECTION)
        frames = sub.read_until(
            lambda f: f.t == "#commit" and f.did == account.did, 15.0, what=f"the #commit of {new.uri}"
        )
    first = frames[0]
    if first.seq is None or first.seq <= old_seq:
        raise first.fail(f"a first event after seq {old_seq} (the earlier write)", first.summary())
    paths = [o.get("path") for o in frames[-1].body.get("ops") or [] if isinstance(o, dict)]
    if f"{new.collection}/{new.rkey}" not in paths:
        raise frames[-1].fail(f"the commit of {new.uri}", frames[-1].summary())
