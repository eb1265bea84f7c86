"""What federation suites need beyond one target: the PDSes a relay follows, streams read in the background.

A relay under test is judged against its upstreams: every commit a PDS emits must come out of the relay, so a
federation test watches the PDS's stream and the relay's stream *at the same time*, and compares. A
:class:`StreamRecorder` reads one subscription on a thread of its own and stamps each frame with its arrival
time (so latency can be measured per event); :class:`Upstream` is one PDS target the relay follows, with a way
to make accounts on it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from atcheck.accounts import Account
from atcheck.checks import ConformanceFailure, expect_ok
from atcheck.suite.firehose import Frame, StreamFailure, Subscription, subscribe
from atcheck.suite.target import TargetUnderTest
from atcheck.suite.upstreams import Upstream
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient

__all__ = [
    "Federation",
    "Producer",
    "StreamRecorder",
    "TimedFrame",
    "frame_rev",
    "list_all",
    "percentile",
]


@dataclass(frozen=True)
class TimedFrame:
    """A frame and the moment (``time.monotonic()``) it arrived."""

    at: float
    frame: Frame


@dataclass
class StreamRecorder:
    """Reads a subscription on a background thread until stopped; every frame is kept with its arrival time.

    A stream failure (a frame that does not decode, a close) ends the reading and is kept in ``failure``, so
    the tests that judge the stream can report it; the recorder itself never raises on the thread.
    """

    base_url: str
    label: str
    recorder: EvidenceRecorder | None = None
    frames: list[TimedFrame] = field(default_factory=list)
    failure: StreamFailure | None = None
    _sub: Subscription | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> StreamRecorder:
        """Open the subscription (live: no cursor) and start reading; StreamFailure if it will not open."""
        self._sub = subscribe(self.base_url, recorder=self.recorder, label=self.label)
        self._thread = threading.Thread(target=self._read, name=f"stream {self.label}", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._sub is not None
        while not self._stop.is_set():
            try:
                frame = self._sub.next(timeout=0.2)
            except StreamFailure as exc:
                self.failure = exc
                return
            if frame is not None:
                with self._lock:
                    self.frames.append(TimedFrame(time.monotonic(), frame))

    def snapshot(self) -> list[TimedFrame]:
        with self._lock:
            return list(self.frames)

    def wait_for(self, done: Callable[[Sequence[TimedFrame]], bool], timeout: float) -> bool:
        """Poll until ``done(frames so far)`` holds (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            if done(self.snapshot()):
                return True
            if time.monotonic() >= deadline or self.failure is not None:
                return done(self.snapshot())
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop reading and close the subscription (safe to call twice)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sub is not None:
            self._sub.close()

    def __iter__(self) -> Iterator[TimedFrame]:
        return iter(self.snapshot())


def list_all(client: XrpcClient, nsid: str, key: str, *, limit: int = 100, pages: int = 200) -> list[Any]:
    """Every item of a cursor-paginated query (``listRepos``, ``listHosts``): the pages' ``key`` lists joined.

    Stops at the first page without a cursor; more than ``pages`` pages, or a cursor that repeats, is a
    conformance failure (SYNC-HTTP-14: an absent cursor means the end).
    """
    items: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(pages):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        resp = client.query(nsid, params)
        body = expect_ok(resp)
        page = body.get(key)
        if not isinstance(page, list):
            raise ConformanceFailure(f"a {key!r} list in the {nsid} answer", body, resp)
        items.extend(page)
        next_cursor = body.get("cursor")
        if not isinstance(next_cursor, str) or not next_cursor:
            return items
        if next_cursor in seen:
            raise ConformanceFailure(
                f"{nsid} cursors that move forward", f"cursor {next_cursor!r} again", resp
            )
        seen.add(next_cursor)
        cursor = next_cursor
    raise ConformanceFailure(f"{nsid} to end within {pages} pages of {limit}", "it did not", None)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# -- a federation scene: what a relay test recorded --------------------------------------------------------


@dataclass
class Producer:
    """One PDS the relay follows, as the scene exercised it."""

    upstream: Upstream
    account: Account | None = None
    stream: StreamRecorder | None = None
    warm_rev: str | None = None
    last_rev: str | None = None
    writes: int = 0
    problem: str | None = None  # why this PDS could not be exercised; its tests fail with it

    @property
    def name(self) -> str:
        return self.upstream.name

    @property
    def did(self) -> str:
        if self.account is None:
            raise ConformanceFailure(f"an account on {self.name} to test with", self.problem or "none")
        return self.account.did

    def require(self) -> None:
        """Fail the calling test when the scene could not be set on this PDS."""
        if self.problem is not None:
            raise ConformanceFailure(f"{self.name} and the relay to take part in the scene", self.problem)

    def pds_commits(self) -> list[TimedFrame]:
        """The PDS's own ``#commit`` frames of this account after the warm-up, in stream order."""
        return _measured(self.stream.snapshot() if self.stream else [], self.did, self.warm_rev)


@dataclass
class Federation:
    """What the scene recorded: the relay's stream and one :class:`Producer` per followed PDS."""

    relay: TargetUnderTest
    relay_stream: StreamRecorder
    producers: list[Producer] = field(default_factory=list)

    def relay_commits(self, producer: Producer) -> list[TimedFrame]:
        """The relay's ``#commit`` frames of ``producer``'s account after the warm-up, in stream order."""
        return _measured(self.relay_stream.snapshot(), producer.did, producer.warm_rev)


def _measured(frames: Sequence[TimedFrame], did: str, after_rev: str | None) -> list[TimedFrame]:
    return [
        tf
        for tf in frames
        if tf.frame.t == "#commit" and tf.frame.did == did and frame_rev(tf.frame) > (after_rev or "")
    ]


def frame_rev(frame: Frame) -> str:
    """The ``rev`` of a ``#commit`` or ``#sync`` frame, or '' when it has none."""
    rev = frame.body.get("rev")
    return rev if isinstance(rev, str) else ""
