"""Listen to a relay's own ``subscribeRepos`` and keep what comes out, for the verdicts.

The tap subscribes live (no cursor) before the emulator's script is loaded, so everything the relay
passes on from the emulator is seen; other hosts' events are kept too and simply match nothing. Frames
that do not decode are kept as evidence (``undecodable``), not dropped silently.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from atcheck.oracle.cbor import Value, decode_prefix, decode_strict
from atcheck.oracle.errors import OracleError
from atcheck.upstream.script import EventRef
from atcheck.upstream.verdict import RelayEvent

__all__ = ["RelayTap", "decode_frame"]

OPEN_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 16 * 1024 * 1024


def decode_frame(data: bytes) -> RelayEvent:
    """A frame's type and payload; an error frame comes back as type ``error``."""
    header, pos = decode_prefix(data)
    body = decode_strict(data[pos:])
    if not isinstance(header, dict) or not isinstance(body, dict):
        raise OracleError("a frame's header and payload must both be maps")
    if header.get("op") == -1:
        return "error", body
    kind = header.get("t")
    if not isinstance(kind, str):
        raise OracleError(f"frame header without a string 't': {header!r}")
    return kind, body


@dataclass
class RelayTap:
    """A background subscriber to ``ws_url`` (``ws://host:port``); use as a context manager."""

    ws_url: str
    events: list[RelayEvent] = field(default_factory=list)
    undecodable: list[str] = field(default_factory=list)
    ended: str | None = None

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        self._stack = contextlib.ExitStack()
        self._conn: ClientConnection = self._stack.enter_context(
            connect(
                f"{self.ws_url.rstrip('/')}/xrpc/com.atproto.sync.subscribeRepos",
                open_timeout=OPEN_TIMEOUT_S,
                max_size=MAX_FRAME_BYTES,
                compression=None,
            )
        )
        self._thread = threading.Thread(target=self._read, name="atcheck-relay-tap", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self._conn:
                if isinstance(message, str):
                    self.undecodable.append(f"text frame: {message[:100]!r}")
                    continue
                try:
                    event = decode_frame(message)
                except OracleError as exc:
                    self.undecodable.append(f"{exc} ({len(message)} bytes)")
                    continue
                with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
            self.ended = "closed by the relay"
        except (ConnectionClosed, WebSocketException, OSError) as exc:
            self.ended = f"connection lost: {exc}"
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, ref: EventRef, timeout_s: float) -> bool:
        """Wait until the relay has passed on ``ref`` (True) or ``timeout_s`` has passed (False)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                if any(ref.matches(kind, body) for kind, body in self.events):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.ended is not None:
                    return False
                self._changed.wait(min(left, 0.5))

    def settle(self, quiet_s: float, timeout_s: float) -> None:
        """Wait until no new event has arrived for ``quiet_s`` (at most ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        count, since = len(self.events), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if len(self.events) != count:
                count, since = len(self.events), time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return

    def snapshot(self) -> list[RelayEvent]:
        with self._changed:
            return list(self.events)

    def close(self) -> None:
        self._stack.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RelayTap:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def events_of(events: list[RelayEvent], did: str) -> list[tuple[str, dict[str, Value]]]:
    return [(k, b) for k, b in events if b.get("repo", b.get("did")) == did]
