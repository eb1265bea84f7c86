"""A naive relay for self-tests: it passes on every frame it can decode from its upstreams, re-sequenced.

It validates nothing (no signature, no inversion, no host check, no seq order), so the hostile-upstream
suite must fail it on every case whose event should be dropped. Run by the process launcher from a
manifest: ``python fake_relay.py PORT`` with ``ATCHECK_RELAY_UPSTREAMS`` (comma-separated PDS URLs).
Binds 127.0.0.1; stops on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.http11 import Request, Response
from websockets.sync.client import connect
from websockets.sync.server import ServerConnection, serve

from atcheck.oracle.cbor import decode_prefix, decode_strict, encode

SUBSCRIBE = "/xrpc/com.atproto.sync.subscribeRepos"


class Relay:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.frames: list[bytes] = []
        self.stopping = threading.Event()

    def follow(self, url: str) -> None:
        ws_url = url.replace("http://", "ws://", 1).rstrip("/") + SUBSCRIBE
        cursor: int | None = None
        while not self.stopping.is_set():
            try:
                query = f"?cursor={cursor}" if cursor is not None else ""
                with connect(ws_url + query, max_size=None, open_timeout=5, compression=None) as ws:
                    for message in ws:
                        if isinstance(message, bytes):
                            seq = self.take(message)
                            cursor = seq if seq is not None else cursor
            except (OSError, ConnectionClosed, WebSocketException):
                time.sleep(0.2)

    def take(self, data: bytes) -> int | None:
        try:
            header, pos = decode_prefix(data)
            body = decode_strict(data[pos:], blessed_links=False)
        except Exception:
            return None  # even a naive relay cannot pass on what it cannot read
        if not isinstance(header, dict) or not isinstance(body, dict) or header.get("op") != 1:
            return None
        upstream_seq = body.get("seq")
        with self.lock:
            body["seq"] = len(self.frames) + 1
            self.frames.append(encode(header) + encode(body))
            self.lock.notify_all()
        return upstream_seq if isinstance(upstream_seq, int) else None

    def _more_than(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.frames) > count or self.stopping.is_set()

    def serve_stream(self, connection: ServerConnection) -> None:
        sent = len(self.frames)  # live only
        try:
            while not self.stopping.is_set():
                with self.lock:
                    self.lock.wait_for(self._more_than(sent), timeout=0.5)
                    pending = self.frames[sent:]
                for frame in pending:
                    connection.send(frame)
                sent += len(pending)
        except ConnectionClosed:
            return


def main() -> None:
    port = int(sys.argv[1])
    relay = Relay()
    upstreams = [u for u in os.environ.get("ATCHECK_RELAY_UPSTREAMS", "").split(",") if u]
    for url in upstreams:
        threading.Thread(target=relay.follow, args=(url,), daemon=True).start()

    def http(connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith(SUBSCRIBE):
            return None
        headers = Headers({"Content-Type": "application/json"})
        if request.path == "/xrpc/_health":
            return Response(200, "OK", headers, b'{"version":"fake-relay"}')
        return Response(501, "Not Implemented", headers, b'{"error":"MethodNotImplemented"}')

    server = serve(relay.serve_stream, "127.0.0.1", port, process_request=http, compression=None)

    def stop(_signum: int, _frame: object) -> None:
        relay.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
