"""A stream counts as closed when the server's Close frame arrives, not when its TCP connection ends.

websockets' ``recv()`` reports a close only once the TCP connection is gone. arroba (under werkzeug) sends
Close right after its FutureCursor error frame but, in some runs, keeps the socket for ~15 s more, so
SYNC-ES-19 ("closed immediately") failed or passed by chance. Here a raw-socket server sends a frame, then
Close, then holds the connection: the client must see the close at once, with its code and reason, and must
not lose the frame before it. A server that sends nothing must still time out as "open".
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from atcheck.oracle.cbor import encode
from atcheck.suite.firehose import StreamFailure, Subscription

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HOLD_S = 6.0


def _frame(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


@contextmanager
def _server(*, send_close: bool) -> Iterator[str]:
    """A one-connection WebSocket server: 101, an error frame, maybe Close, then it holds the socket."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + WS_GUID.encode()).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            error = encode({"op": -1}) + encode({"error": "FutureCursor", "message": "too far"})
            conn.sendall(_frame(0x2, error))
            if send_close:
                conn.sendall(_frame(0x8, (1000).to_bytes(2, "big") + b"bye"))
            done.wait(HOLD_S)  # the TCP connection stays up, as a lagging server's does

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        done.set()
        thread.join(HOLD_S + 1)
        listener.close()


def test_a_close_frame_closes_the_stream_even_while_tcp_stays_up() -> None:
    with _server(send_close=True) as url, Subscription(url, cursor=10**9, label="lagging") as sub:
        first = sub.read(1, 2.0)[0]
        assert first.is_error and first.body.get("error") == "FutureCursor"
        started = time.monotonic()
        after = sub.expect_closed(3.0)
        elapsed = time.monotonic() - started
    assert after == []
    assert elapsed < 1.0, f"the close was seen only after {elapsed:.1f} s"
    assert (sub.close_code, sub.close_reason) == (1000, "bye")


def test_frames_before_the_close_are_not_lost() -> None:
    with _server(send_close=True) as url, Subscription(url, cursor=10**9) as sub:
        after = sub.expect_closed(3.0)
    assert [f.body.get("error") for f in after] == ["FutureCursor"]


def test_without_a_close_frame_the_stream_is_still_open() -> None:
    with _server(send_close=False) as url, Subscription(url, cursor=10**9) as sub:
        sub.read(1, 2.0)
        with pytest.raises(StreamFailure, match="within 1 s"):
            sub.expect_closed(1.0)
