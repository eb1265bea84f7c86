"""A tiny relay that can misbehave on purpose, so the federation suite can be shown to catch a broken relay.

Run with atcheck's Python (it decodes and re-encodes frames with atcheck's oracle):
``fake_relay.py`` with ``PORT``, ``ATCHECK_RELAY_UPSTREAMS`` (comma-separated PDS URLs, as the indigo-relay
wrapper gets them) and ``FAULT``. It subscribes live to every upstream's ``subscribeRepos``, gives each frame
its own ``seq`` and sends it to every subscriber of its own ``/xrpc/com.atproto.sync.subscribeRepos``;
``/xrpc/_health`` answers 200. Faults touch ``#commit`` frames only, counted per repository:

- ``ok``     relay every frame once, in order (the control: the suite must pass it)
- ``drop``   drop every third commit
- ``dup``    send every third commit twice
- ``swap``   hold every third commit back and send it after the next commit of the same repository

Stops on SIGTERM. Only the standard library, websockets and atcheck.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import defaultdict
from http import HTTPStatus
from typing import Any

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.http11 import Request, Response
from websockets.sync.client import connect
from websockets.sync.server import Server, ServerConnection, serve

from atcheck.oracle.cbor import decode_prefix, decode_strict, encode

FAULTS = ("ok", "drop", "dup", "swap")


class FakeRelay:
    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.lock = threading.Lock()
        self.seq = 0
        self.subscribers: list[ServerConnection] = []
        self.commits: dict[str, int] = defaultdict(int)
        self.held: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.stop = threading.Event()

    # -- upstream side -----------------------------------------------------------------------------------

    def follow(self, url: str) -> None:
        ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/xrpc/com.atproto.sync.subscribeRepos"
        while not self.stop.is_set():
            try:
                with connect(ws_url, open_timeout=5, proxy=None, max_size=None) as upstream:
                    while not self.stop.is_set():
                        try:
                            data = upstream.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        if isinstance(data, bytes):
                            self.on_frame(data)
            except (OSError, WebSocketException, TimeoutError):
                self.stop.wait(0.2)  # an upstream without events yet, or gone: try again

    def on_frame(self, data: bytes) -> None:
        header, end = decode_prefix(data)
        body = decode_strict(data[end:])
        if not isinstance(header, dict) or not isinstance(body, dict) or header.get("op") != 1:
            return
        with self.lock:
            if header.get("t") != "#commit":
                self.emit(header, body)
                return
            repo = str(body.get("repo"))
            self.commits[repo] += 1
            third = self.commits[repo] % 3 == 0
            if self.fault == "drop" and third:
                return
            if self.fault == "swap" and third:
                self.held[repo] = (header, body)
                return
            self.emit(header, body)
            if self.fault == "dup" and third:
                self.emit(header, body)
            if repo in self.held:
                self.emit(*self.held.pop(repo))

    def emit(self, header: dict[str, Any], body: dict[str, Any]) -> None:
        self.seq += 1
        frame = encode(header) + encode({**body, "seq": self.seq})
        for subscriber in list(self.subscribers):
            try:
                subscriber.send(frame)
            except (ConnectionClosed, OSError):
                self.subscribers.remove(subscriber)

    # -- downstream side ---------------------------------------------------------------------------------

    def serve_subscriber(self, connection: ServerConnection) -> None:
        with self.lock:
            self.subscribers.append(connection)
        _block_until_closed(connection)


def _block_until_closed(connection: ServerConnection) -> None:
    try:
        while True:
            connection.recv()  # the client sends nothing; this returns when it closes
    except ConnectionClosed:
        return


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.startswith("/xrpc/com.atproto.sync.subscribeRepos"):
        return None
    status = HTTPStatus.OK if request.path == "/xrpc/_health" else HTTPStatus.NOT_FOUND
    body = b'{"fake": "relay"}' if status == HTTPStatus.OK else b'{"error": "MethodNotImplemented"}'
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


def main() -> None:
    fault = os.environ.get("FAULT", "ok")
    if fault not in FAULTS:
        print(f"fake relay: FAULT must be one of {', '.join(FAULTS)}, got {fault!r}", file=sys.stderr)
        raise SystemExit(2)
    relay = FakeRelay(fault)
    upstreams = [u.strip() for u in os.environ.get("ATCHECK_RELAY_UPSTREAMS", "").split(",") if u.strip()]
    for url in upstreams:
        threading.Thread(target=relay.follow, args=(url,), daemon=True).start()
    server: Server = serve(
        relay.serve_subscriber, "127.0.0.1", int(os.environ["PORT"]), process_request=health, compression=None
    )

    def on_term(signum: int, frame: object) -> None:
        relay.stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    print(f"fake relay ({fault}) following {', '.join(upstreams) or 'nothing'}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
