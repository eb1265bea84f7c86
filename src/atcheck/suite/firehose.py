"""Subscribing to a repository event stream (``com.atproto.sync.subscribeRepos``) the way a suite needs to.

A firehose is checked like any other answer: every frame is decoded by atcheck's own oracle (strict
DAG-CBOR, event-stream §Framing: a header object, then a payload object, nothing else), and anything that
does not conform becomes a :class:`StreamFailure` (a :class:`~atcheck.checks.ConformanceFailure`) saying what
the spec expects, what came, and from which stream and frame. Streams are untrusted input from servers that
may be broken, so every wait has a timeout, a subscription always closes (it is a context manager), and the
raw bytes of every frame are kept for evidence.

Evidence: each subscription adds one entry to the test's :class:`~atcheck.xrpc.client.EvidenceRecorder`
(the WebSocket upgrade, ``GET ... -> 101``) whose body is a compact log of the frames, one line each, kept
current as frames arrive; a frame that fails a check is logged with the start of its bytes in hex. A failing
test's report therefore shows what the stream sent without storing megabytes of CAR slices.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from atcheck.checks import ConformanceFailure
from atcheck.oracle.car import Car, read_car
from atcheck.oracle.cbor import Value, decode_prefix, decode_strict, to_json
from atcheck.oracle.cid import CID
from atcheck.oracle.crypto import PublicKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.inductive import VerifiedCommitEvent, verify_commit_event
from atcheck.oracle.mst import find_key
from atcheck.oracle.repo import Commit, check_commit
from atcheck.report.model import Exchange
from atcheck.xrpc.client import EvidenceRecorder

__all__ = [
    "SUBSCRIBE_REPOS",
    "Frame",
    "History",
    "StreamFailure",
    "Subscription",
    "Write",
    "check_diff_blocks",
    "decode_frame",
    "frame_commit",
    "message_errors",
    "read_blocks",
    "stream_url",
    "subscribe",
    "verify_commit_frame",
    "verify_sync_frame",
]

SUBSCRIBE_REPOS: Final = "com.atproto.sync.subscribeRepos"
#: The firehose's hard frame limit is 5 MB (sync §Repository Event Stream). The client accepts more, so an
#: oversize frame is *seen* and reported by the suite instead of being cut off by the WebSocket library.
READ_LIMIT_BYTES: Final = 16 * 1024 * 1024
DEFAULT_TIMEOUT_S: Final = 10.0
#: How often a waiting read looks whether the server's Close frame has come. websockets' recv() reports a
#: close only once the TCP connection is gone, which some servers (arroba under werkzeug) delay by ~15 s
#: after sending Close; the stream is closed when Close arrives (RFC 6455 §7.1.4: "_The WebSocket Closing
#: Handshake is Started_").
CLOSE_POLL_S: Final = 0.1
#: Evidence per subscription: the first and the last frames, one line each.
_LOG_HEAD: Final = 8
_LOG_TAIL: Final = 24
_HEX_BYTES: Final = 48


class StreamFailure(ConformanceFailure):
    """A stream did not do what the spec requires; ``source`` names the stream (and frame) it came from."""

    def __init__(self, expected: str, got: object, source: str) -> None:
        super().__init__(expected, got)
        self.request_line = source
        AssertionError.__init__(self, f"{self.args[0]}; from {source}")


def stream_url(base_url: str, nsid: str = SUBSCRIBE_REPOS, cursor: int | None = None) -> str:
    """The ``ws://`` (or ``wss://``) URL of ``nsid`` at ``base_url`` (event-stream §Connection)."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = urlencode({"cursor": cursor}) if cursor is not None else ""
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/xrpc/{nsid}", query, ""))


@dataclass(frozen=True)
class Frame:
    """One binary frame, decoded: the header and payload objects, and the exact bytes that carried them."""

    stream: str
    index: int
    """Position in its subscription (0 = the first frame received)."""
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
        """The message type from the header (``#commit``...), or None (error frames)."""
        t = self.header.get("t")
        return t if isinstance(t, str) else None

    @property
    def is_error(self) -> bool:
        return self.op == -1

    @property
    def seq(self) -> int | None:
        seq = self.body.get("seq")
        return seq if isinstance(seq, int) and not isinstance(seq, bool) else None

    @property
    def did(self) -> str | None:
        """The account the event is about: ``repo`` on ``#commit``, ``did`` on every other type."""
        did = self.body.get("repo" if self.t == "#commit" else "did")
        return did if isinstance(did, str) else None

    @property
    def size(self) -> int:
        return len(self.raw)

    def json(self) -> Any:
        """The payload in its JSON form (``$link``, ``$bytes``), for Lexicon validation and for messages."""
        return to_json(self.body)

    def fail(self, expected: str, got: object) -> StreamFailure:
        """A failure about this frame (raise it)."""
        return StreamFailure(expected, got, self.where)

    def summary(self) -> str:
        """One line for evidence: type, seq, account, and the fields that identify the event."""
        if self.is_error:
            return f"error {self.body.get('error')!r} {self.body.get('message', '')!r}"[:200]
        parts = [str(self.t or self.header), f"seq={self.seq}", f"{self.size}B"]
        if self.did:
            parts.append(self.did)
        for key in ("rev", "since", "active", "status", "handle", "name"):
            if key in self.body:
                parts.append(f"{key}={self.body[key]}")
        ops = self.body.get("ops")
        if isinstance(ops, list):
            shown = [f"{o.get('action')} {o.get('path')}" for o in ops[:3] if isinstance(o, dict)]
            parts.append(f"ops=[{', '.join(shown)}{', ...' if len(ops) > 3 else ''}]")
        return " ".join(parts)


def decode_frame(data: bytes | str, *, stream: str, index: int) -> Frame:
    """Decode one WebSocket message as an event-stream frame (event-stream §Framing), strictly.

    Raises :class:`StreamFailure` unless it is a binary message holding exactly two DAG-CBOR objects, a
    header map then a payload map. Whether ``op`` and ``t`` are right is judged by the suite, not here, so a
    test about something else still sees frames with odd headers.
    """
    where = f"frame {index} of {stream}"
    if isinstance(data, str):
        raise StreamFailure(
            "a binary WebSocket message (event-stream §Framing)", f"text {data[:120]!r}", where
        )
    raw = bytes(data)
    try:
        header, end = decode_prefix(raw)
    except OracleError as exc:
        raise StreamFailure("a frame header in strict DAG-CBOR", f"{exc}; bytes {_hex(raw)}", where) from None
    if not isinstance(header, dict):
        raise StreamFailure("a frame header that is a CBOR map", f"{header!r}; bytes {_hex(raw)}", where)
    if end == len(raw):
        raise StreamFailure("a payload object after the frame header", f"only a header {header!r}", where)
    try:
        body = decode_strict(raw[end:])
    except OracleError as exc:
        raise StreamFailure(
            "a frame payload of exactly one strict DAG-CBOR object",
            f"{exc} (payload starts at byte {end}); bytes {_hex(raw[end:])}",
            where,
        ) from None
    if not isinstance(body, dict):
        raise StreamFailure("a payload that is a CBOR map (event-stream §Framing)", repr(body)[:200], where)
    return Frame(stream=stream, index=index, raw=raw, header=header, body=body)


def _hex(data: bytes) -> str:
    shown = data[:_HEX_BYTES].hex()
    return shown + (f"... [{len(data)} bytes]" if len(data) > _HEX_BYTES else "")


class _FrameLog:
    """The evidence entry of one subscription: the upgrade exchange, its body a bounded log of frames."""

    def __init__(self, url: str, recorder: EvidenceRecorder | None) -> None:
        self.exchange = Exchange(method="GET", url=url, status=None, request_headers={"Upgrade": "websocket"})
        self.head: list[str] = []
        self.tail: list[str] = []
        self.count = 0
        self.ending = ""
        if recorder is not None:
            recorder.record(self.exchange)

    def add(self, line: str) -> None:
        self.count += 1
        if len(self.head) < _LOG_HEAD:
            self.head.append(line)
        else:
            self.tail.append(line)
            del self.tail[:-_LOG_TAIL]
        self._render()

    def end(self, text: str) -> None:
        self.ending = text
        self._render()

    def _render(self) -> None:
        skipped = self.count - len(self.head) - len(self.tail)
        lines = [f"[WebSocket: {self.count} message(s) received]", *self.head]
        if skipped > 0:
            lines.append(f"... {skipped} more ...")
        lines += self.tail
        if self.ending:
            lines.append(self.ending)
        self.exchange.response_body = "\n".join(lines)


class Subscription:
    """An open subscription: read frames with timeouts; closes on ``close()`` or leaving the ``with``.

    >>> with subscribe("http://127.0.0.1:2583", cursor=0) as sub:  # doctest: +SKIP
    ...     frames = sub.read_until(lambda f: f.seq == 42, timeout=10)
    """

    def __init__(
        self,
        base_url: str,
        *,
        cursor: int | None = None,
        nsid: str = SUBSCRIBE_REPOS,
        recorder: EvidenceRecorder | None = None,
        open_timeout: float = DEFAULT_TIMEOUT_S,
        label: str | None = None,
    ) -> None:
        self.url = stream_url(base_url, nsid, cursor)
        self.name = f"{label} {self.url}" if label else self.url
        self.frames: list[Frame] = []
        """Every frame received so far, in order."""
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._closed = False
        self._log = _FrameLog(self.url, recorder)
        try:
            # Entered as a context manager (closed by close()): websockets deprecates bare connect() calls.
            self._ws: ClientConnection = connect(
                self.url,
                open_timeout=open_timeout,
                close_timeout=0.5,  # a slow close handshake is not what any test judges
                max_size=READ_LIMIT_BYTES,
                compression=None,  # the spec names no extension (event-stream §Possible Future Changes)
                proxy=None,  # traffic stays on this machine
                ping_interval=None,  # the client sends nothing unasked: the stream is one-way
            ).__enter__()
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = exc.response.body[:300].decode("utf-8", "replace") if exc.response.body else ""
            self._log.exchange.status = status
            self._log.end(f"[upgrade refused: HTTP {status} {body!r}]")
            raise StreamFailure(
                "the WebSocket upgrade (HTTP 101)", f"HTTP {status} {body!r}", self.url
            ) from None
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            self._log.end(f"[no WebSocket: {type(exc).__name__}: {exc}]")
            raise StreamFailure(
                "a WebSocket upgrade at /xrpc/<nsid>", f"{type(exc).__name__}: {exc}", self.url
            ) from None
        response = self._ws.response
        self._log.exchange.status = response.status_code if response is not None else 101
        if response is not None:
            self._log.exchange.response_headers = dict(response.headers.raw_items())

    # -- reading ------------------------------------------------------------------------------------------

    def next(self, timeout: float = DEFAULT_TIMEOUT_S) -> Frame | None:
        """The next frame, or None if none came within ``timeout`` seconds.

        Raises :class:`StreamFailure` for a frame that does not decode, and when the stream closed (the
        caller that expects a close uses :meth:`expect_closed`).
        """
        if self._closed:
            raise StreamFailure("the stream to be open", self._closed_text(), self.name)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                data = self._ws.recv(timeout=max(0.0, min(CLOSE_POLL_S, deadline - time.monotonic())))
                break
            except TimeoutError:
                close = self._ws.protocol.close_rcvd
                if close is not None:
                    # The server sent its Close frame and every frame before it has been read: the stream
                    # is closed, even while the TCP teardown lags (websockets' recv() waits for that).
                    self._note_closed_by(close.code, close.reason)
                    raise self._closed_failure() from None
                if time.monotonic() >= deadline:
                    return None
            except ConnectionClosed as exc:
                self._note_closed(exc)
                raise self._closed_failure() from None
        index = len(self.frames)
        try:
            frame = decode_frame(data, stream=self.name, index=index)
        except StreamFailure as exc:
            self._log.add(f"#{index} NOT A VALID FRAME: {exc.got}")
            raise
        self.frames.append(frame)
        self._log.add(f"#{index} {frame.summary()}")
        return frame

    def read(self, count: int, timeout: float = DEFAULT_TIMEOUT_S) -> list[Frame]:
        """Exactly ``count`` more frames, all within ``timeout`` seconds in total."""
        deadline = time.monotonic() + timeout
        got: list[Frame] = []
        while len(got) < count:
            frame = self.next(deadline - time.monotonic())
            if frame is None:
                raise StreamFailure(
                    f"{count} frame(s) within {timeout:g} s", f"{len(got)} ({self._recent()})", self.name
                )
            got.append(frame)
        return got

    def read_until(
        self, done: Callable[[Frame], bool], timeout: float = DEFAULT_TIMEOUT_S, *, what: str = ""
    ) -> list[Frame]:
        """Frames up to and including the first for which ``done`` holds, within ``timeout`` seconds.

        ``what`` describes the awaited frame for the failure message.
        """
        deadline = time.monotonic() + timeout
        got: list[Frame] = []
        while True:
            frame = self.next(deadline - time.monotonic())
            if frame is None:
                raise StreamFailure(
                    f"{what or 'the awaited frame'} within {timeout:g} s",
                    f"{len(got)} other frame(s) ({self._recent()})",
                    self.name,
                )
            got.append(frame)
            if done(frame):
                return got

    def drain(self, quiet: float, limit: float = DEFAULT_TIMEOUT_S) -> list[Frame]:
        """Frames until none comes for ``quiet`` seconds (at most ``limit`` seconds in all)."""
        deadline = time.monotonic() + limit
        got: list[Frame] = []
        while time.monotonic() < deadline:
            frame = self.next(min(quiet, deadline - time.monotonic()))
            if frame is None:
                break
            got.append(frame)
        return got

    def expect_closed(self, timeout: float = DEFAULT_TIMEOUT_S) -> list[Frame]:
        """Wait up to ``timeout`` s for the server to close the stream; return the frames that came first.

        Raises :class:`StreamFailure` if the stream is still open after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        got: list[Frame] = []
        while not self._closed:
            try:
                frame = self.next(deadline - time.monotonic())
            except StreamFailure:
                if self._closed:
                    break
                raise
            if frame is None:
                raise StreamFailure(
                    f"the server to close the stream within {timeout:g} s", "it stayed open", self.name
                )
            got.append(frame)
        return got

    def send(self, data: bytes | str) -> None:
        """Send a message to the server (streams are one-way: a server must ignore it)."""
        try:
            self._ws.send(data)
        except ConnectionClosed as exc:
            self._note_closed(exc)
            raise StreamFailure("the stream to stay open", self._closed_text(), self.name) from None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- closing ------------------------------------------------------------------------------------------

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._log.end(f"[closed by atcheck after {len(self.frames)} frame(s)]")
        with contextlib.suppress(WebSocketException, OSError):
            self._ws.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def _closed_failure(self) -> StreamFailure:
        return StreamFailure("the stream to stay open and send valid frames", self._closed_text(), self.name)

    def _note_closed(self, exc: ConnectionClosed) -> None:
        rcvd = exc.rcvd
        cause = exc.__cause__
        if rcvd is None and cause is not None:
            # Not a close by the server: the client failed the connection (invalid WebSocket data).
            self._note_closed_by(None, f"{type(cause).__name__}: {cause}")
        elif rcvd is not None:
            self._note_closed_by(rcvd.code, rcvd.reason)
        else:
            self._note_closed_by(None, "")

    def _note_closed_by(self, code: int | None, reason: str) -> None:
        self._closed = True
        self.close_code = code
        self.close_reason = reason
        self._log.end(f"[{self._closed_text()}]")

    def _closed_text(self) -> str:
        after = f"after {len(self.frames)} frame(s)"
        if self.close_code is not None:
            return f"closed by the server with code {self.close_code} {self.close_reason!r} {after}"
        if self.close_reason:
            return f"invalid WebSocket data ({self.close_reason}) {after}"
        return f"the connection ended without a close frame {after}"

    def _recent(self) -> str:
        last = self.frames[-3:]
        return "last: " + "; ".join(f.summary() for f in last) if last else "no frame at all"


def subscribe(
    base_url: str,
    *,
    cursor: int | None = None,
    recorder: EvidenceRecorder | None = None,
    nsid: str = SUBSCRIBE_REPOS,
    label: str | None = None,
) -> Subscription:
    """Open a subscription to ``nsid`` (default ``subscribeRepos``) on the service at ``base_url``."""
    return Subscription(base_url, cursor=cursor, nsid=nsid, recorder=recorder, label=label)


# -- a recorded history: what a suite wrote, and what the stream said about it --------------------------


@dataclass
class Write:
    """One write a suite made, and what the PDS answered: the ops the commit event must carry."""

    label: str
    ops: list[tuple[str, str, str | None]]
    """(action, path, record CID the write returned, or None for a delete), in the order sent."""
    prev: dict[str, str]
    """For updates and deletes: path -> the record's CID before the write."""
    commit_cid: str | None = None
    """The commit CID the write's answer named, when it named one."""
    rev: str | None = None


@dataclass
class History:
    """A fresh account's creation and a series of writes, as one live subscription saw them.

    A recording failure (a frame that did not decode, a close, a timeout) is kept in ``failure`` instead of
    failing the recording, so each test still judges what did arrive and re-raises it when it needs more.
    """

    target: str
    did: str
    handle: str
    frames: list[Frame]
    writes: list[Write]
    signing_key: PublicKey
    stream: str
    failure: StreamFailure | None = None
    evidence: list[Exchange] = field(default_factory=list)

    def account_frames(self) -> list[Frame]:
        """Frames about the history's account, in stream order."""
        return [f for f in self.frames if f.did == self.did]

    def commits(self) -> list[Frame]:
        """The account's ``#commit`` frames, in stream order (its first, empty commit included)."""
        return [f for f in self.account_frames() if f.t == "#commit"]

    def write_commits(self) -> list[Frame]:
        """The account's ``#commit`` frames that carry ops (those of the writes), in stream order."""
        return [f for f in self.commits() if f.body.get("ops")]

    def require_complete(self) -> None:
        """Re-raise a recording failure: a test that needs every frame cannot judge without them."""
        if self.failure is not None:
            raise self.failure


# -- checks on decoded frames ---------------------------------------------------------------------------


def message_errors(frame: Frame, nsid: str = SUBSCRIBE_REPOS) -> list[str]:
    """What is wrong with the payload against its Lexicon message type (the header's ``t``); [] if valid.

    An unknown ``t`` is reported as an error: the Lexicon's union is closed for what a server may send.
    """
    from atcheck.errors import AtcheckError
    from atcheck.schema.registry import validate_message

    if frame.t is None:
        return ["the header has no message type t"]
    try:
        return validate_message(frame.json(), nsid, frame.t)
    except (AtcheckError, KeyError, LookupError) as exc:
        return [f"{frame.t} is not a message type of {nsid} ({exc})"]


def _blocks(frame: Frame, limit_note: str) -> bytes:
    blocks = frame.body.get("blocks")
    if not isinstance(blocks, bytes):
        raise frame.fail(f"'blocks' to be a byte string (a CAR){limit_note}", type(blocks).__name__)
    return blocks


def verify_commit_frame(frame: Frame, signing_key: PublicKey | None) -> VerifiedCommitEvent:
    """Check a ``#commit`` frame on its own, with the oracle (sync §Reliable Synchronization).

    The CAR slice parses with every block hash checked; its first root is the commit the event names; the
    commit is signed by ``signing_key`` (skipped when None) and names the event's ``repo``; every create and
    update points at a record block in the slice; and inverting the ops on the partial tree gives
    ``prevData`` (when present). Raises :class:`StreamFailure` naming the frame.
    """
    commit_cid = frame.body.get("commit")
    prev_data = frame.body.get("prevData")
    ops = frame.body.get("ops")
    if not isinstance(commit_cid, CID):
        raise frame.fail("'commit' to be a CID link", frame.body.get("commit"))
    if prev_data is not None and not isinstance(prev_data, CID):
        raise frame.fail("'prevData' to be a CID link when present", prev_data)
    if not isinstance(ops, list) or not all(isinstance(o, Mapping) for o in ops):
        raise frame.fail("'ops' to be a list of objects", ops)
    try:
        return verify_commit_event(
            _blocks(frame, ""),
            ops,
            prev_data,
            did=frame.did,
            signing_key=signing_key,
            commit_cid=commit_cid,
        )
    except OracleError as exc:
        raise frame.fail(
            "a #commit that verifies on its own (blocks, signature, ops, prevData)", str(exc)
        ) from None


def read_blocks(frame: Frame) -> Car:
    """The frame's ``blocks`` as a parsed CAR (every block hash checked)."""
    try:
        return read_car(_blocks(frame, ""))
    except OracleError as exc:
        raise frame.fail("'blocks' to be a valid CAR v1", str(exc)) from None


def frame_commit(frame: Frame, signing_key: PublicKey | None) -> Commit:
    """The commit object a ``#commit`` or ``#sync`` frame carries: the CAR's first root, a block in it,
    checked as a v3 commit and, when ``signing_key`` is given, signed by it. Raises :class:`StreamFailure`."""
    car = read_blocks(frame)
    root = car.roots[0]
    data = car.blocks.get(root)
    if data is None:
        raise frame.fail("the commit block named by the CAR's first root in 'blocks'", f"no block {root}")
    try:
        return check_commit(root, data, signing_key=signing_key)
    except OracleError as exc:
        what = "a commit signed with the account's #atproto key" if signing_key else "a valid v3 commit"
        raise frame.fail(f"{what} in 'blocks'", str(exc)) from None


def check_diff_blocks(frame: Frame) -> Car:
    """A ``#commit``'s ``blocks`` hold what a consumer needs (repository §Commit Diffs): the commit as the
    first root, the new MST nodes on the path of every op, and the record block of every create and update.

    The path of each op is walked in the new tree with the slice's blocks only: a node missing there means
    the slice lacks a new node (or the op's key is not where the op says). Raises :class:`StreamFailure`.
    """
    car = read_blocks(frame)
    commit = frame_commit(frame, None)
    ops = frame.body.get("ops")
    for op in ops if isinstance(ops, list) else []:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise frame.fail("ops with a string 'path'", op)
        path, action = op["path"], op.get("action")
        try:
            found, _ = find_key(commit.data, path, car.blocks.get)
        except OracleError as exc:
            raise frame.fail(
                f"the new MST nodes on the path of {action} {path} in 'blocks'", str(exc)
            ) from None
        if action in ("create", "update"):
            if found is None:
                raise frame.fail(f"{path} in the commit's tree after its {action}", "the key is absent")
            if found not in car.blocks:
                raise frame.fail(f"the record block of {action} {path} in 'blocks'", f"no block {found}")
        elif action == "delete" and found is not None:
            raise frame.fail(f"{path} absent from the commit's tree after its delete", f"it maps to {found}")
    return car


def verify_sync_frame(frame: Frame, signing_key: PublicKey | None) -> Commit:
    """Check a ``#sync`` frame's commit: the CAR's first root, in the CAR, signed, for the event's ``did``."""
    commit = frame_commit(frame, signing_key)
    if commit.did != frame.did:
        raise frame.fail(f"the commit in 'blocks' to be for the event's did {frame.did}", commit.did)
    return commit
