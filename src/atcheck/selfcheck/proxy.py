"""A transparent proxy in front of one service of a target, which applies at most one fault at a time.

Every HTTP request is forwarded to the real service and its answer handed back; a WebSocket upgrade
(``subscribeRepos``, ``subscribeLabels``) opens the same path at the service and pumps frames both ways. The
proxy's :attr:`FaultProxy.fault` (None: pass everything) may rewrite a request before it is forwarded, answer
it instead, rewrite the answer, or rewrite, drop or add frames of a stream. The selfcheck runner sets it
between suite runs; the count of exchanges a fault changed tells a fault that was never triggered from one
the suites did not notice.

Binds 127.0.0.1 on a free port; :meth:`FaultProxy.close` stops it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from typing import Protocol as Interface
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import Protocol, Side
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection

__all__ = ["Exchange", "FaultProxy", "StreamContext"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
    "upgrade",
    "accept-encoding",
    "proxy-connection",
    "te",
    "trailer",
}
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_UPSTREAM_TIMEOUT_S = 60.0


@dataclass
class Exchange:
    """One HTTP request and (once forwarded) its answer, as a fault sees and rewrites them."""

    role: str
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    request_headers: dict[str, str]  # names in lower case
    request_body: bytes
    upstream: str = ""  # the service's base URL, for a fault that must read something else from it
    raw_query: str = ""  # as the client sent it: forwarded unchanged unless a fault changed ``query``
    status: int = 0  # 0 until answered; a request fault that sets it answers without forwarding
    headers: dict[str, str] = field(default_factory=dict)  # response headers, names in lower case
    body: bytes = b""

    @property
    def nsid(self) -> str:
        """The XRPC method (``com.atproto.repo.getRecord``), or "" for a non-XRPC path."""
        return self.path.removeprefix("/xrpc/") if self.path.startswith("/xrpc/") else ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The answer's JSON body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def request_json(self) -> Any:
        try:
            return json.loads(self.request_body)
        except ValueError:
            return None

    def set_json(self, value: Any, status: int | None = None) -> None:
        """Replace the answer with ``value`` as JSON (and ``status``, when given)."""
        self.body = json.dumps(value).encode()
        self.headers["content-type"] = "application/json; charset=utf-8"
        if status is not None:
            self.status = status


@dataclass
class StreamContext:
    """One proxied WebSocket subscription, as a frame fault sees it: its path, query and its own state."""

    role: str
    path: str
    query: dict[str, list[str]]
    index: int = 0  # frames seen so far from the service
    state: dict[str, Any] = field(default_factory=dict)


class Fault(Interface):
    """What the proxy needs of a fault (a :class:`atcheck.selfcheck.faults.Fault`): its role and hooks."""

    @property
    def role(self) -> str: ...
    @property
    def on_request(self) -> Callable[[Exchange], bool] | None: ...
    @property
    def on_response(self) -> Callable[[Exchange], bool] | None: ...
    @property
    def on_frame(self) -> Callable[[StreamContext, bytes], list[bytes] | None] | None: ...
    @property
    def on_subscribe(self) -> Callable[[StreamContext], str | None] | None: ...


class FaultProxy:
    """``FaultProxy(role, upstream_url)`` serves at ``.url`` until :meth:`close`; set ``.fault`` to inject."""

    def __init__(self, role: str, upstream: str) -> None:
        self.role = role
        self.upstream = upstream.rstrip("/")
        self.fault: Fault | None = None
        self.applied = 0  # exchanges and frames the current fault changed
        # Service URL -> proxy URL, rewritten in DID documents this proxy serves (see :meth:`relocate`).
        self.relocations: dict[str, str] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=_UPSTREAM_TIMEOUT_S, trust_env=False)
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"proxy-{role}", daemon=True)
        self._thread.start()

    def set_fault(self, fault: Fault | None) -> None:
        with self._lock:
            self.fault = fault if fault is not None and fault.role == self.role else None
            self.applied = 0

    def count(self) -> None:
        with self._lock:
            self.applied += 1

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._http.close()

    # -- HTTP ----------------------------------------------------------------------------------------------

    def exchange(self, ex: Exchange) -> Exchange:
        """Forward ``ex`` (through the current fault) and fill in the answer."""
        fault = self.fault
        if fault is not None and fault.on_request is not None and fault.on_request(ex):
            self.count()
        if ex.status == 0:
            headers = {k: v for k, v in ex.request_headers.items() if k not in _HOP_BY_HOP}
            same = ex.query == parse_qs(ex.raw_query, keep_blank_values=True)
            query = ex.raw_query if same else urlencode(ex.query, doseq=True)
            url = self.upstream + ex.path + (f"?{query}" if query else "")
            try:
                resp = self._http.request(ex.method, url, content=ex.request_body or None, headers=headers)
            except httpx.HTTPError as exc:
                ex.set_json({"error": "ProxyError", "message": f"{type(exc).__name__}: {exc}"}, 502)
                return ex
            ex.status = resp.status_code
            ex.headers = {k.lower(): v for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP}
            ex.body = resp.content
            self.relocate(ex)
            if fault is not None and fault.on_response is not None and fault.on_response(ex):
                self.count()
        return ex

    def relocate(self, ex: Exchange) -> None:
        """In a DID document (``GET /did:...`` at a PLC), name the proxies instead of the services they front.

        The PDS registers its own URL, so behind a proxy the suites would see a document that does not point
        at the PDS they talk to, and fail for the proxy's sake. The document is derived, unsigned data; the
        signed operations (``/log``, ``/data``, ``/export``) are left exactly as the PLC sent them.
        """
        segments = ex.path.strip("/").split("/")
        if (
            not self.relocations
            or ex.method != "GET"
            or len(segments) != 1
            or not segments[0].startswith("did:")
        ):
            return
        for real, proxied in self.relocations.items():
            ex.body = re.sub(re.escape(real.encode()) + rb"(?![0-9])", proxied.encode(), ex.body)

    # -- WebSocket -----------------------------------------------------------------------------------------

    def open_upstream(self, path_and_query: str, fault: Fault | None, ctx: StreamContext) -> ClientConnection:
        target = path_and_query
        if fault is not None and fault.on_subscribe is not None:
            rewritten = fault.on_subscribe(ctx)
            if rewritten is not None:
                self.count()
                target = rewritten
        ws_url = self.upstream.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + target
        return connect(
            ws_url,
            open_timeout=10,
            close_timeout=2,
            max_size=None,
            compression=None,
            ping_interval=None,
            legacy=True,  # closed by pump(), not a with block
        )

    def pump(
        self, upstream: ClientConnection, client: Connection, fault: Fault | None, ctx: StreamContext
    ) -> None:
        """Frames from the service to the client through the fault, the client's to the service as they are;
        a close on either side closes the other with the same code."""

        def client_to_upstream() -> None:
            try:
                for message in client:
                    upstream.send(message)
            except ConnectionClosed:
                pass
            finally:
                upstream.close()

        threading.Thread(target=client_to_upstream, daemon=True).start()
        try:
            for message in upstream:
                data = message.encode() if isinstance(message, str) else message
                out: list[bytes] = [data]
                if fault is not None and fault.on_frame is not None:
                    changed = fault.on_frame(ctx, data)
                    if changed is not None:
                        self.count()
                        out = changed
                ctx.index += 1
                for frame in out:
                    client.send(frame)
        except ConnectionClosed:
            pass
        rcvd = upstream.protocol.close_rcvd
        if rcvd is not None and rcvd.code not in (1005, 1006, 1015):
            client.close(rcvd.code, rcvd.reason)
        else:
            client.close()


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            if self.headers.get("upgrade", "").lower() == "websocket":
                self._websocket()
                return
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            ex = Exchange(
                role=proxy.role,
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                raw_query=parts.query,
                upstream=proxy.upstream,
                request_headers={k.lower(): v for k, v in self.headers.items()},
                request_body=body,
            )
            proxy.exchange(ex)
            # The service's own Date and Server headers are passed on, not doubled with the proxy's.
            self.log_request(ex.status)
            self.send_response_only(ex.status)
            for key, value in ex.headers.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(ex.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(ex.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _handle

        def _websocket(self) -> None:
            self.close_connection = True
            parts = urlsplit(self.path)
            fault = proxy.fault
            ctx = StreamContext(proxy.role, parts.path, parse_qs(parts.query, keep_blank_values=True))
            try:
                upstream = proxy.open_upstream(self.path, fault, ctx)
            except InvalidStatus as exc:  # the service refused the upgrade: pass its answer on
                resp = exc.response
                self.send_response(resp.status_code)
                for key, value in resp.headers.raw_items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("content-length", str(len(resp.body or b"")))
                self.end_headers()
                self.wfile.write(resp.body or b"")
                return
            except (OSError, TimeoutError) as exc:
                data = json.dumps({"error": "ProxyError", "message": str(exc)}).encode()
                self.send_response(502)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            key = self.headers.get("sec-websocket-key", "")
            accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            self.wfile.flush()
            sock: socket.socket = self.connection
            sock.settimeout(None)
            client = Connection(
                sock, Protocol(Side.SERVER, max_size=None), ping_interval=None, close_timeout=2
            )
            proxy.pump(upstream, client, fault, ctx)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
