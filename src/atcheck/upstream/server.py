"""The emulated PDS: the sync endpoints a relay calls, and ``subscribeRepos`` streaming the script.

One port serves both HTTP and the WebSocket (``websockets``' sync server; plain GETs are answered in
``process_request`` before any upgrade). It binds 127.0.0.1 only. The stream is *live*: a subscriber with
no cursor gets the frames nobody has been sent yet; one with a cursor gets every frame whose ``seq`` is
above it (the reference PDS's reading of a cursor), then the live ones. Poison frames (``once``) are sent
once and never replayed. Until :meth:`UpstreamServer.load` hands it a script, a subscriber waits, so a
relay can connect first and the test decides when the stream starts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from atcheck.upstream.frames import error_frame
from atcheck.upstream.script import Script

__all__ = ["ConnectionLog", "UpstreamServer"]

SUBSCRIBE = "/xrpc/com.atproto.sync.subscribeRepos"
# A relay that drops the connection mid-frame (as it should after an oversize or broken frame) makes the
# websockets library log a traceback; that is the expected outcome here, recorded in ConnectionLog instead.
_WS_LOG = logging.getLogger("atcheck.upstream.websockets")
_WS_LOG.addHandler(logging.NullHandler())
_WS_LOG.propagate = False


@dataclass
class ConnectionLog:
    """One subscription, for the report: the cursor it asked for and the frames it was sent."""

    cursor: int | None
    sent: list[int] = field(default_factory=list)
    ended: str = "open"


class UpstreamServer:
    """Serve a :class:`Script` on ``127.0.0.1``; use as a context manager (stops on exit)."""

    def __init__(self, *, interval_s: float = 0.02, host: str = "127.0.0.1", port: int = 0) -> None:
        self.interval_s = interval_s
        self._script: Script | None = None
        self._loaded = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._live = 0
        self._sent_once: set[int] = set()
        self.connections: list[ConnectionLog] = []
        self._server: Server = serve(
            self._stream,
            host,
            port,
            process_request=self._http,
            compression=None,
            server_header="atcheck-upstream",
            max_size=2**16,
            open_timeout=10,
            close_timeout=2,
            logger=_WS_LOG,
        )
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="atcheck-upstream", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The URL DID documents must name: a relay matches ``localhost:PORT`` exactly."""
        return f"http://localhost:{self.port}"

    @property
    def hostname(self) -> str:
        return f"localhost:{self.port}"

    def load(self, script: Script) -> None:
        self._script = script
        self._loaded.set()

    def stop(self) -> None:
        self._stopping.set()
        self._loaded.set()
        self._server.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> UpstreamServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path == SUBSCRIBE and "upgrade" in request.headers.get("Connection", "").lower():
            return None
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        method = parts.path.removeprefix("/xrpc/")
        script = self._script
        repos = script.repos if script is not None else {}
        if method in ("_health", ""):
            return _json(200, {"version": "atcheck-upstream"})
        if method == "com.atproto.server.describeServer":
            return _json(200, {"did": f"did:web:localhost%3A{self.port}", "availableUserDomains": [".test"]})
        if method == "com.atproto.sync.listRepos":
            listed = [
                {"did": did, "head": str(r.head.commit_cid), "rev": r.head.rev, "active": True}
                for did, r in repos.items()
                if r.head is not None
            ]
            return _json(200, {"repos": listed})
        if method in (
            "com.atproto.sync.getRepo",
            "com.atproto.sync.getLatestCommit",
            "com.atproto.sync.getRepoStatus",
        ):
            repo = repos.get(params.get("did", ""))
            if repo is None or repo.head is None:
                return _json(400, {"error": "RepoNotFound", "message": f"no repo for {params.get('did')!r}"})
            if method == "com.atproto.sync.getRepo":
                return Response(200, "OK", Headers({"Content-Type": "application/vnd.ipld.car"}), repo.car())
            if method == "com.atproto.sync.getLatestCommit":
                return _json(200, {"cid": str(repo.head.commit_cid), "rev": repo.head.rev})
            return _json(200, {"did": repo.did, "active": True, "rev": repo.head.rev})
        if method == SUBSCRIBE.removeprefix("/xrpc/"):
            return _json(
                426, {"error": "InvalidRequest", "message": "subscribeRepos needs a WebSocket upgrade"}
            )
        return _json(501, {"error": "MethodNotImplemented", "message": f"{method} is not served here"})

    # -- the stream ---------------------------------------------------------------------------------------

    def _stream(self, connection: ServerConnection) -> None:
        request = connection.request
        query = parse_qs(urlsplit(request.path).query) if request is not None else {}
        raw_cursor = query.get("cursor", [""])[0]
        cursor = int(raw_cursor) if raw_cursor.lstrip("-").isdigit() else None
        log = ConnectionLog(cursor)
        self.connections.append(log)
        while not self._loaded.wait(0.2):
            if _closed(connection):
                log.ended = "closed by the subscriber before the script was loaded"
                return
        script = self._script
        if script is None or self._stopping.is_set():
            return
        if cursor is not None and script.frames and cursor > max(f.seq for f in script.frames):
            connection.send(error_frame("FutureCursor", f"cursor {cursor} is ahead of this stream"))
            connection.close()
            log.ended = "FutureCursor"
            return
        try:
            index = 0 if cursor is not None else self._live
            while index < len(script.frames) and not self._stopping.is_set():
                frame = script.frames[index]
                with self._lock:
                    skip = (cursor is not None and frame.seq <= cursor) or index in self._sent_once
                    if not skip and frame.once:
                        self._sent_once.add(index)
                    self._live = max(self._live, index + 1)
                index += 1
                if skip:
                    continue
                connection.send(frame.data)
                log.sent.append(frame.seq)
                time.sleep(self.interval_s)
            while not self._stopping.is_set():
                if _closed(connection):
                    break
            log.ended = "closed by the subscriber" if not self._stopping.is_set() else "server stopped"
        except ConnectionClosed as exc:
            log.ended = f"closed by the subscriber ({exc.rcvd.code if exc.rcvd else 'no close frame'})"


def _closed(connection: ServerConnection) -> bool:
    """Wait briefly for a frame from the subscriber (ignored); True once the connection is closed."""
    try:
        connection.recv(timeout=0.2)
    except TimeoutError:
        return False
    except ConnectionClosed:
        return True
    return False


def _json(status: int, body: object) -> Response:
    reason = {200: "OK", 400: "Bad Request", 426: "Upgrade Required", 501: "Not Implemented"}[status]
    return Response(status, reason, Headers({"Content-Type": "application/json"}), json.dumps(body).encode())
