"""The verdict on a subscription opened with a cursor older than the replay window (SYNC-ES-13).

event-stream §Sequence Numbers: "`cursor` is older than roll-back window: the first message in stream is an
info indicating that `cursor` is too-old, then starts at the oldest available `seq` and sends the entire
roll-back window, then continues with current stream". The firehose suite makes the situation on a PDS of
its own whose window is short (``short_window_pds``): writes it knows are outside the window (``old``),
then writes it knows are the whole window (``new``), then a subscription from a cursor before them all.
The verdict is a pure function of the frames, so a self-test can put it to fabricated streams.
"""

from __future__ import annotations

from collections.abc import Sequence

from atcheck.suite.firehose import Frame, StreamFailure

__all__ = ["commit_paths", "expect_outdated_then_window"]


def commit_paths(frame: Frame) -> list[str]:
    """The record paths of a ``#commit`` frame's ops (none for any other frame)."""
    ops = frame.body.get("ops") if frame.t == "#commit" else None
    if not isinstance(ops, list):
        return []
    return [str(op.get("path")) for op in ops if isinstance(op, dict)]


def expect_outdated_then_window(
    frames: Sequence[Frame], oldest: int | None, out: Sequence[str], inside: Sequence[str], stream: str
) -> None:
    """``frames`` (from the first, up to the commit of ``inside[-1]``) are ``#info OutdatedCursor``, then the
    window from its oldest event: increasing ``seq``, starting at ``oldest`` (the first seq a ``cursor=0``
    replay sent, which by the same list "will start at the oldest available `seq`"), no commit of a path of
    ``out`` (writes known to be outside the window) and every commit of ``inside`` (known to be in it), in
    order."""
    if not frames:
        raise StreamFailure("a first frame (#info OutdatedCursor)", "none", stream)
    first = frames[0]
    if not (first.op == 1 and first.t == "#info" and first.body.get("name") == "OutdatedCursor"):
        raise first.fail(
            'the first frame to be #info {name: "OutdatedCursor"} (the cursor is too old)', first.summary()
        )
    events = list(frames[1:])
    last = 0
    for frame in events:
        if frame.seq is None or frame.seq <= last:
            raise frame.fail(f"events with increasing seq after the #info (previous {last})", frame.summary())
        last = frame.seq
    if not events or (oldest is not None and events[0].seq != oldest):
        got = events[0].summary() if events else "nothing"
        raise StreamFailure(
            f"the replay to start at the oldest available seq ({oldest}, where cursor=0 starts)", got, stream
        )
    paths = [p for frame in events for p in commit_paths(frame)]
    leaked = [p for p in paths if p in out]
    if leaked:
        raise StreamFailure("no write from before the window after the #info", leaked, stream)
    sent = [p for p in paths if p in inside]
    if sent != list(inside):
        raise StreamFailure(f"the entire window: the commits of {list(inside)}, in order", sent, stream)
