"""atcheck's client host: serves client metadata documents over https on 127.0.0.1, as :data:`CLIENT_HOST`.

An atproto authorization server learns about a client by fetching its ``client_id``, an https URL with a host
name (the reference refuses ``localhost`` and the ``.test``/``.local``... TLDs). The OAuth suite is that
client, so it needs such a URL that reaches it with no internet: this module serves documents at
``https://client.oauth.atcheck:<port>/<path>`` with a certificate of a throw-away CA
(:class:`atcheck.suite.resolvers.LocalCa`); the suite points the target at it for the duration of a test
(:func:`atcheck.suite.resolvers.pointed_at`: the name resolves to 127.0.0.1, the CA is trusted). Each document
is set by the test that uses it, including wrong answers (a redirect, a 201, a mismatched ``client_id``), and
every fetch is counted so a test can tell the server really looked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from atcheck.suite.resolvers import LocalCa

#: The zone of the client host's certificate, and the host name client_ids are served under: a TLD the
#: reference accepts for client_ids (not localhost, .test, .local...), never delegated, resolved to 127.0.0.1
#: only inside the target while a test points it there.
CLIENT_ZONE = "oauth.atcheck"
CLIENT_HOST = f"client.{CLIENT_ZONE}"


@dataclass
class Document:
    """What one path answers: a status, headers and a body (JSON unless ``raw``)."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


class ClientHost:
    """A running https host; ``url(path)`` is a client_id it serves, ``put`` sets what a path answers."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.port = int(server.server_address[1])
        self.documents: dict[str, Document] = {}
        self.fetches: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        return f"https://{CLIENT_HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def put(self, path: str, document: Document) -> str:
        """Serve ``document`` at ``path`` from now on; returns its URL."""
        with self._lock:
            self.documents[path] = document
        return self.url(path)

    def answer(self, path: str) -> Document | None:
        with self._lock:
            self.fetches[path] = self.fetches.get(path, 0) + 1
            return self.documents.get(path)


def _handler(host_ref: list[ClientHost]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = host_ref[0].answer(self.path.split("?")[0])
            if document is None:
                document = Document({"error": "not_found"}, status=404)
            body = document.body if isinstance(document.body, bytes) else json.dumps(document.body).encode()
            self.send_response(document.status)
            for name, value in document.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: what the server fetched is in ``ClientHost.fetches``."""

    return Handler


@contextmanager
def client_host(ca: LocalCa) -> Iterator[ClientHost]:
    """Serve on 127.0.0.1 (a free port) with ``ca``'s certificate (made for :data:`CLIENT_ZONE`) until the
    block ends."""
    context = ca.server_context()
    holder: list[ClientHost] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    host = ClientHost(server)
    holder.append(host)
    thread = threading.Thread(target=server.serve_forever, name="atcheck-oauth-client-host", daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
