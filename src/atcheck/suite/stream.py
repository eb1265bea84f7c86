"""An event-stream client for suites (event-stream spec): any ``/xrpc/<nsid>`` subscription, frames decoded
by atcheck's oracle.

Written for ``com.atproto.label.subscribeLabels``; it knows nothing of one stream's message types, so the
repository firehose can use it as well. Every frame must be exactly two strict DAG-CBOR objects, a header
map then a payload map (event-stream §Framing); anything else is a :class:`StreamFailure` (a
:class:`~atcheck.checks.ConformanceFailure`) naming the stream and the frame. Streams are untrusted input, so
every wait has a timeout and a subscription always closes (use it as a context manager).

Evidence: each subscription adds one exchange to the test's recorder (``GET <ws url> -> 101``) whose body is
a log of the frames received, one line each (the first 40), kept current as frames arrive.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from atcheck.checks import ConformanceFailure
from atcheck.oracle.cbor import Value, decode_prefix, decode_strict, to_json
from atcheck.oracle.errors import OracleError
from atcheck.report.model import Exchange
from atcheck.xrpc.client import EvidenceRecorder

__all__ = ["Frame", "StreamFailure", "Subscription", "decode_frame", "stream_url", "subscribe"]

DEFAULT_TIMEOUT_S: Final = 10.0
#: Frames larger than this end the connection (no stream the suites read sends frames near it).
READ_LIMIT_BYTES: Final = 16 * 1024 * 1024
_LOGGED_FRAMES: Final = 40


class StreamFailure(ConformanceFailure):
    """A stream did not do what the spec requires; ``source`` names the stream (and frame)."""

    def __init__(self, expected: str, got: object, source: str) -> None:
        super().__init__(expected, got)
        self.request_line = source
        AssertionError.__init__(self, f"{self.args[0]}; from {source}")


def stream_url(base_url: str, nsid: str, cursor: int | None = None) -> str:
    """The ``ws://`` (``wss://``) URL of subscription ``nsid`` at ``base_url`` (event-stream §Connection)."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = urlencode({"cursor": cursor}) if cursor is not None else ""
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/xrpc/{nsid}", query, ""))


@dataclass(frozen=True)
class Frame:
    """One binary message, decoded: header and payload objects, and the bytes that carried them."""

    stream: str
    index: int
    raw: bytes = field(repr=False)
    header: dict[str, Value]
    body: dict[str, Value] = field(repr=False)

    @property
    def where(self) -> str:
        return f"frame {self.index} of {self.stream}"

    @property
    def op(self) -> object:
        return self.header.get("op")

    @property
    def t(self) -> str | None:
        """The message type of the header (``#labels``...), None when absent (error frames)."""
        t = self.header.get("t")
        return t if isinstance(t, str) else None

    @property
    def is_error(self) -> bool:
        return self.op == -1

    @property
    def seq(self) -> int | None:
        seq = self.body.get("seq")
        return seq if isinstance(seq, int) and not isinstance(seq, bool) else None

    def json(self) -> Any:
        """The payload in its JSON form (``$bytes``, ``$link``), for Lexicon validation and messages."""
        return to_json(self.body)

    def fail(self, expected: str, got: object) -> StreamFailure:
        """A failure about this frame (raise it)."""
        return StreamFailure(expected, got, self.where)

    def summary(self) -> str:
        if self.is_error:
            return f"error {self.body.get('error')!r} {self.body.get('message', '')!r}"[:200]
        return f"{self.t or self.header} seq={self.seq} {len(self.raw)}B"


def decode_frame(data: bytes | str, *, stream: str, index: int) -> Frame:
    """Decode one WebSocket message as a frame: exactly a header map then a payload map, strict DAG-CBOR."""
    where = f"frame {index} of {stream}"
    if isinstance(data, str):
        raise StreamFailure(
            "a binary WebSocket message (event-stream §Framing)", f"text {data[:120]!r}", where
        )
    raw = bytes(data)
    try:
        header, end = decode_prefix(raw)
    except OracleError as exc:
        raise StreamFailure(
            "a frame header in strict DAG-CBOR", f"{exc}; bytes {raw[:48].hex()}", where
        ) from None
    if not isinstance(header, dict):
        raise StreamFailure("a frame header that is a CBOR map", repr(header)[:200], where)
    if end == len(raw):
        raise StreamFailure("a payload object after the frame header", f"only a header {header!r}", where)
    try:
        body = decode_strict(raw[end:])
    except OracleError as exc:
        raise StreamFailure(
            "a frame payload of exactly one strict DAG-CBOR object", f"{exc} (payload at byte {end})", where
        ) from None
    if not isinstance(body, dict):
        raise StreamFailure("a payload that is a CBOR map (event-stream §Framing)", repr(body)[:200], where)
    return Frame(stream=stream, index=index, raw=raw, header=header, body=body)


class Subscription:
    """An open subscription; frames are read with timeouts. Close it (or leave its ``with`` block)."""

    def __init__(
        self,
        base_url: str,
        nsid: str,
        *,
        cursor: int | None = None,
        recorder: EvidenceRecorder | None = None,
        open_timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.url = stream_url(base_url, nsid, cursor)
        self.frames: list[Frame] = []
        self.close_code: int | None = None
        self._closed = False
        self._lines: list[str] = []
        self._exchange = Exchange(
            method="GET", url=self.url, status=None, request_headers={"Upgrade": "websocket"}
        )
        if recorder is not None:
            recorder.record(self._exchange)
        try:
            self._ws: ClientConnection = connect(
                self.url,
                open_timeout=open_timeout,
                close_timeout=2,
                max_size=READ_LIMIT_BYTES,
                compression=None,
                proxy=None,  # traffic stays on this machine
                ping_interval=None,
            ).__enter__()
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = exc.response.body[:300].decode("utf-8", "replace") if exc.response.body else ""
            self._exchange.status = status
            self._log(f"[upgrade refused: HTTP {status} {body!r}]")
            raise StreamFailure(
                "the WebSocket upgrade (HTTP 101)", f"HTTP {status} {body!r}", self.url
            ) from None
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            self._log(f"[no WebSocket: {type(exc).__name__}: {exc}]")
            raise StreamFailure(
                "a WebSocket upgrade at /xrpc/<nsid>", f"{type(exc).__name__}: {exc}", self.url
            ) from None
        self._exchange.status = 101

    def _log(self, line: str) -> None:
        if len(self._lines) < _LOGGED_FRAMES:
            self._lines.append(line)
        shown = "\n".join(self._lines)
        more = len(self.frames) - _LOGGED_FRAMES
        self._exchange.response_body = shown + (f"\n... {more} more frame(s)" if more > 0 else "")

    @property
    def closed(self) -> bool:
        return self._closed

    def next(self, timeout: float = DEFAULT_TIMEOUT_S) -> Frame | None:
        """The next frame, or None if none came within ``timeout`` s. A closed stream is a StreamFailure."""
        if self._closed:
            raise StreamFailure("the stream to be open", f"closed (code {self.close_code})", self.url)
        try:
            data = self._ws.recv(timeout=max(0.0, timeout))
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            self._closed = True
            self.close_code = exc.rcvd.code if exc.rcvd is not None else None
            self._log(f"[closed by the server, code {self.close_code}]")
            raise StreamFailure(
                "the stream to stay open", f"closed (code {self.close_code})", self.url
            ) from None
        frame = decode_frame(data, stream=self.url, index=len(self.frames))
        self.frames.append(frame)
        self._log(f"#{frame.index} {frame.summary()}")
        return frame

    def read_until(
        self,
        done: Callable[[Frame], bool],
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        what: str = "the awaited frame",
    ) -> list[Frame]:
        """Frames up to and including the first for which ``done`` holds, within ``timeout`` s in all."""
        deadline = time.monotonic() + timeout
        got: list[Frame] = []
        while True:
            frame = self.next(deadline - time.monotonic())
            if frame is None:
                raise StreamFailure(f"{what} within {timeout:g} s", f"{len(got)} other frame(s)", self.url)
            got.append(frame)
            if done(frame):
                return got

    def drain(self, quiet: float, limit: float = DEFAULT_TIMEOUT_S) -> list[Frame]:
        """Frames until none comes for ``quiet`` s (at most ``limit`` s); stops quietly at a close."""
        deadline = time.monotonic() + limit
        got: list[Frame] = []
        while time.monotonic() < deadline and not self._closed:
            try:
                frame = self.next(min(quiet, deadline - time.monotonic()))
            except StreamFailure:
                if self._closed:
                    break
                raise
            if frame is None:
                break
            got.append(frame)
        return got

    def wait_closed(self, timeout: float = DEFAULT_TIMEOUT_S) -> bool:
        """Read until the server closes the stream; True if it did within ``timeout`` s."""
        self.drain(quiet=timeout, limit=timeout)
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._log(f"[closed by atcheck after {len(self.frames)} frame(s)]")
        with contextlib.suppress(WebSocketException, OSError):
            self._ws.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def subscribe(
    base_url: str, nsid: str, *, cursor: int | None = None, recorder: EvidenceRecorder | None = None
) -> Subscription:
    """Open ``nsid`` at ``base_url`` (a StreamFailure if the upgrade fails); use as a context manager."""
    return Subscription(base_url, nsid, cursor=cursor, recorder=recorder)
