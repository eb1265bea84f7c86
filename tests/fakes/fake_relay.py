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

With ``PLC_URL`` set it also keeps each account's state, as a relay's read side: the head of its last
``#commit`` (``getLatestCommit``) and its ``#account`` status (``getRepoStatus``), taking an account's
events only from its current host (the ``#atproto_pds`` of its DID document at the PLC, looked up again on
every ``#identity``). One more fault is about that:

- ``sticky`` keep each account on the first host it was seen on, whatever its DID document says later
  (a relay that does not follow a migrated account)

Stops on SIGTERM. Only the standard library, websockets and atcheck.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import urllib.request
from collections import defaultdict
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.http11 import Request, Response
from websockets.sync.client import connect
from websockets.sync.server import Server, ServerConnection, serve

from atcheck.oracle.cbor import decode_prefix, decode_strict, encode

FAULTS = ("ok", "drop", "dup", "swap", "sticky")


class FakeRelay:
    def __init__(self, fault: str, plc_url: str | None = None) -> None:
        self.fault = fault
        self.plc_url = plc_url
        self.hosts: dict[str, str] = {}  # did -> the host (port) whose events the relay takes
        self.heads: dict[str, dict[str, str]] = {}  # did -> {"cid", "rev"} of its last #commit
        self.status: dict[str, dict[str, Any]] = {}  # did -> {"active", "status"?} of its last #account
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
                            self.on_frame(data, _port(url))
            except (OSError, WebSocketException, TimeoutError):
                self.stop.wait(0.2)  # an upstream without events yet, or gone: try again

    def on_frame(self, data: bytes, port: str = "") -> None:
        header, end = decode_prefix(data)
        body = decode_strict(data[end:])
        if not isinstance(header, dict) or not isinstance(body, dict) or header.get("op") != 1:
            return
        if self.plc_url and not self.account_state(str(header.get("t")), body, port):
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

    def account_state(self, kind: str, body: dict[str, Any], port: str) -> bool:
        """Keep the account's state from an event of host ``port``; False: not its host, drop the event."""
        did = str(body.get("repo") if kind == "#commit" else body.get("did"))
        with self.lock:
            known = self.hosts.get(did)
        if known is None or (kind == "#identity" and self.fault != "sticky"):
            known = self.current_host(did) or port
            with self.lock:
                self.hosts[did] = known
        if known != port:
            return False
        with self.lock:
            if kind == "#commit":
                self.heads[did] = {"cid": str(body.get("commit")), "rev": str(body.get("rev"))}
                self.status.setdefault(did, {"active": True})
            elif kind == "#account":
                self.status[did] = {k: body[k] for k in ("active", "status") if k in body}
        return True

    def current_host(self, did: str) -> str | None:
        """The port of the DID document's #atproto_pds endpoint at the PLC, or None if it cannot be read."""
        try:
            with urllib.request.urlopen(f"{self.plc_url}/{did}", timeout=5) as resp:
                doc = json.load(resp)
        except (OSError, ValueError):
            return None
        for service in doc.get("service") or []:
            if str(service.get("id", "")).endswith("#atproto_pds"):
                return _port(str(service.get("serviceEndpoint", "")))
        return None

    def answer(self, path: str) -> tuple[HTTPStatus, dict[str, Any]]:
        """getLatestCommit and getRepoStatus from the kept state."""
        parts = urlsplit(path)
        did = parse_qs(parts.query).get("did", [""])[0]
        with self.lock:
            head, status = self.heads.get(did), self.status.get(did)
        if parts.path == "/xrpc/com.atproto.sync.getLatestCommit" and head is not None:
            return HTTPStatus.OK, head
        if parts.path == "/xrpc/com.atproto.sync.getRepoStatus" and status is not None:
            return HTTPStatus.OK, {"did": did, **status, **({"rev": head["rev"]} if head else {})}
        return HTTPStatus.BAD_REQUEST, {"error": "RepoNotFound", "message": f"no repo {did}"}

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


def _port(url: str) -> str:
    """The port of a URL: how the fake tells hosts apart (one names it 127.0.0.1, the other localhost)."""
    return str(urlsplit(url).port or "")


def http_answer(relay: FakeRelay, request: Request) -> Response | None:
    if request.path.startswith("/xrpc/com.atproto.sync.subscribeRepos"):
        return None
    if request.path == "/xrpc/_health":
        status, body = HTTPStatus.OK, b'{"fake": "relay"}'
    elif relay.plc_url and request.path.startswith(
        ("/xrpc/com.atproto.sync.getLatestCommit", "/xrpc/com.atproto.sync.getRepoStatus")
    ):
        status, answer = relay.answer(request.path)
        body = json.dumps(answer).encode()
    else:
        status, body = HTTPStatus.NOT_FOUND, b'{"error": "MethodNotImplemented"}'
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


def main() -> None:
    fault = os.environ.get("FAULT", "ok")
    if fault not in FAULTS:
        print(f"fake relay: FAULT must be one of {', '.join(FAULTS)}, got {fault!r}", file=sys.stderr)
        raise SystemExit(2)
    relay = FakeRelay(fault, os.environ.get("PLC_URL") or None)
    upstreams = [u.strip() for u in os.environ.get("ATCHECK_RELAY_UPSTREAMS", "").split(",") if u.strip()]
    for url in upstreams:
        threading.Thread(target=relay.follow, args=(url,), daemon=True).start()
    server: Server = serve(
        relay.serve_subscriber,
        "127.0.0.1",
        int(os.environ["PORT"]),
        process_request=lambda connection, request: http_answer(relay, request),
        compression=None,
    )

    def on_term(signum: int, frame: object) -> None:
        relay.stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    print(f"fake relay ({fault}) following {', '.join(upstreams) or 'nothing'}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
