"""A cursor older than the replay window: ``#info OutdatedCursor``, then the whole window (SYNC-ES-13).

No run outgrows a production-sized window (a day of events on the reference PDS), and shortening the
target's own window would turn every other cursor test into an OutdatedCursor one. So this module starts a
separate instance of the target's PDS whose manifest-declared window is short (``short_window_pds``): by age
(the reference: 20 s) or by count (arroba: about 5 events). It writes records that end up outside the
window, then records that are in it, then subscribes from a cursor older than all of them.

Deterministic by construction. For a window by age, the old writes are made more than the window before the
subscription, and the subscription must open well inside the window after the first new write (measured;
otherwise the attempt is made again, after the window has passed once more, and never judged). For a window
of N events, N new writes are made after 2N old ones: the first N old writes are certainly out of it and the
new writes after the first certainly in, whether an implementation counts N or N+1 events. Before
subscribing, a live subscriber has seen every new commit, so the server has them all in its replay buffer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from atcheck.suite import Account, Frame, ShortWindowPds, Subscription, note, subscribe, write_record
from atcheck.suite.replay_window import commit_paths, expect_outdated_then_window

pytestmark = pytest.mark.needs("sync.subscribe-repos", "repo.write")

COLLECTION = "com.example.atcheck.window"
#: How many writes fall outside a window by age, and how many are then in it.
WRITES_BY_AGE = 3
#: Safety margin around a window by age, in seconds.
MARGIN_S = 3.0
DELIVERY_TIMEOUT_S = 20.0
#: Attempts before a machine too slow to open a subscription within the window stops the test (an error).
ATTEMPTS = 3


def _commit_of(path: str) -> Callable[[Frame], bool]:
    """Whether a frame is the commit that wrote ``path``."""
    return lambda frame: path in commit_paths(frame)


def _write(account: Account, prefix: str, count: int) -> list[str]:
    """``count`` records with keys ``<prefix>0``...; their paths, in write order."""
    paths = []
    for i in range(count):
        rkey = f"{prefix}{i}"
        write_record(account, note(f"{prefix} {i}", collection=COLLECTION), rkey=rkey, collection=COLLECTION)
        paths.append(f"{COLLECTION}/{rkey}")
    return paths


def _until(sub: Subscription, path: str, what: str) -> list[Frame]:
    return sub.read_until(_commit_of(path), DELIVERY_TIMEOUT_S, what=f"the commit of {path}, {what}")


@pytest.mark.requirement("SYNC-ES-13")
@pytest.mark.role("pds")
def test_a_cursor_older_than_the_window_gets_outdated_cursor_then_the_window(
    short_window_pds: ShortWindowPds,
) -> None:
    """event-stream §Sequence Numbers: "`cursor` is older than roll-back window: the first message in stream
    is an info indicating that `cursor` is too-old, then starts at the oldest available `seq` and sends the
    entire roll-back window, then continues with current stream".

    From ``cursor=1`` (older than every write): the first frame is ``#info {name: "OutdatedCursor"}``; then
    events from the oldest available seq (where a ``cursor=0`` replay, opened right after, starts: "server
    will start at the oldest available `seq`"), every write known to be in the window, in order, and none
    known to be out of it."""
    pds = short_window_pds
    instance = pds.target
    url = instance.endpoint("pds").url
    account = pds.new_account()
    by_count = pds.events is not None
    count = pds.events if pds.events is not None else WRITES_BY_AGE
    old = _write(account, "old", 2 * count if by_count else count)
    out = old[:count] if by_count else list(old)
    for attempt in range(ATTEMPTS):
        if pds.seconds is not None:
            time.sleep(pds.seconds + MARGIN_S)  # every write so far is now older than the window
        with subscribe(url, recorder=instance.recorder, label="live") as live:
            started = time.monotonic()
            new = _write(account, f"new{attempt}x", count)
            _until(live, new[-1], "on a live subscription")
        inside = new[1:] if by_count else new
        with subscribe(url, cursor=1, recorder=instance.recorder, label="outdated cursor") as sub:
            frames = sub.read(1, DELIVERY_TIMEOUT_S)
            if new[-1] not in commit_paths(frames[0]):
                frames += _until(sub, new[-1], "the newest")
            with subscribe(url, cursor=0, recorder=instance.recorder, label="cursor 0") as zero:
                whole = _until(zero, new[-1], "the newest, from cursor 0")
            in_time = pds.seconds is None or time.monotonic() - started < pds.seconds - MARGIN_S
            if not in_time:
                out += new  # by the next attempt, these too are older than the window
                continue
            oldest = next((f.seq for f in whole if f.seq is not None), None)
            expect_outdated_then_window(frames, oldest, out, inside, sub.name)
            return
    # Not a verdict on the server: the test could not make the situation it judges (an error, not a failure).
    raise RuntimeError(
        f"{ATTEMPTS} times, the subscriptions opened more than {pds.seconds} s - {MARGIN_S} s after the "
        "first write of the window (the machine is overloaded); no verdict"
    )
