"""Idle connections to several event streams, observed over one shared window.

An idle stream is judged by waiting: what a server sends (or does) after a minute without events is the
point. Waiting for each target in turn costs a minute each, so a suite observes every stream of the run at
once, in one window, one thread per stream: each still gets the whole window, and the run waits once.
Nothing else runs meanwhile (the caller blocks), so the streams stay idle.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from atcheck.report.model import Exchange
from atcheck.suite.firehose import SUBSCRIBE_REPOS, StreamFailure, subscribe
from atcheck.xrpc.client import EvidenceRecorder

__all__ = ["IdleObservation", "observe_idle"]


@dataclass
class IdleObservation:
    """What one stream did during the window."""

    name: str
    seconds: float
    """How long the subscription was observed (the whole window unless it ended early)."""
    frames: int = 0
    failure: StreamFailure | None = None
    """The first thing that was not a valid frame, or the stream's end; None when it stayed open."""
    close_code: int | None = None
    """The WebSocket close code, when the server closed the stream with a close frame."""
    evidence: list[Exchange] = field(default_factory=list)
    """The subscription's evidence entry (its upgrade and frame log), for the test that judges it."""

    @property
    def closed_properly(self) -> bool:
        """The server ended the stream with a WebSocket close (allowed for an idle stream)."""
        return self.close_code is not None


def observe_idle(
    streams: Mapping[str, str], seconds: float, *, nsid: str = SUBSCRIBE_REPOS, label: str = "idle"
) -> dict[str, IdleObservation]:
    """Subscribe live (no cursor) to every ``name -> base URL`` at once and read for ``seconds``.

    Every subscription is closed before this returns; each result carries its own evidence.
    """
    if not streams:
        return {}

    def watch(name: str, url: str) -> IdleObservation:
        recorder = EvidenceRecorder()
        seen = IdleObservation(name, 0.0, evidence=recorder.exchanges)
        began = time.monotonic()
        try:
            with subscribe(url, nsid=nsid, recorder=recorder, label=f"{label} {seconds:.0f} s") as sub:
                began = time.monotonic()  # the window starts once the stream is open
                deadline = began + seconds
                try:
                    while time.monotonic() < deadline:
                        sub.next(deadline - time.monotonic())
                except StreamFailure as exc:
                    seen.failure = exc
                    seen.close_code = sub.close_code if sub.closed else None
                seen.frames = len(sub.frames)
        except StreamFailure as exc:  # the upgrade itself failed
            seen.failure = exc
        seen.seconds = time.monotonic() - began
        return seen

    with ThreadPoolExecutor(len(streams), thread_name_prefix="atcheck-idle") as pool:
        futures = {name: pool.submit(watch, name, url) for name, url in streams.items()}
        return {name: future.result() for name, future in futures.items()}
