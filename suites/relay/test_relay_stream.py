"""A relay's own ``subscribeRepos`` endpoint, asked what the event-stream spec requires of every stream.

Spec: https://atproto.com/specs/event-stream (§Sequence Numbers) and the Lexicon
``com.atproto.sync.subscribeRepos`` (its ``FutureCursor`` error). The federation suite judges what the relay
forwards; this module judges the relay as a stream server in its own right, so it needs no upstream PDS.
"""

from __future__ import annotations

import pytest

from atcheck.suite import ConformanceFailure, TargetUnderTest, subscribe

pytestmark = [pytest.mark.role("relay"), pytest.mark.needs("sync.subscribe-repos")]

#: A cursor no relay's sequence reaches (2^40; within int64 and within the 2^53 a JSON number keeps exact).
FUTURE_CURSOR = 2**40
#: How long the first frame may take: a relay answers a future cursor at once, when the stream opens.
FIRST_FRAME_S = 5.0


@pytest.mark.requirement("SYNC-ES-11")
def test_a_future_cursor_gets_a_futurecursor_error_from_the_relay(target: TargetUnderTest) -> None:
    """A cursor above the relay's current seq is answered with the error frame ``FutureCursor``, as the
    first frame. Event-stream §Sequence Numbers, the connection-time rules: "`cursor` is higher than current
    `seq` ("in the future"): server sends an error message and closes connection"; the same section names
    the error ("the server would send back a `FutureCursor` error to the client"), and the Lexicon of
    ``com.atproto.sync.subscribeRepos`` lists it. The same row as for PDSes and labelers (SYNC-ES-11)."""
    url = target.endpoint("relay").url
    with subscribe(
        url, cursor=FUTURE_CURSOR, recorder=target.recorder, label=f"relay future cursor={FUTURE_CURSOR}"
    ) as sub:
        first = sub.next(FIRST_FRAME_S)
    if first is None:
        raise ConformanceFailure(
            "an error frame (op -1) with error FutureCursor as the first frame",
            f"no frame within {FIRST_FRAME_S:g} s: the stream stayed open and silent, as for a live cursor",
        )
    if not first.is_error or first.body.get("error") != "FutureCursor":
        raise first.fail("an error frame (op -1) with error FutureCursor as the first frame", first.summary())
