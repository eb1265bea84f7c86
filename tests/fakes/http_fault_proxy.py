"""A reverse HTTP proxy for self-tests: forwards every request to a real server, unless a fault answers it.

A fault is ``(method, path, headers, body) -> (status, json body) | None``; None forwards the request
unchanged. It lets a self-test turn a real, correct server into one with exactly one defect (a blob accepted
and dropped, an expired token accepted) and check that the suite test meant to catch that defect fails.
Binds 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Fault = Callable[[str, str, dict[str, str], bytes], tuple[int, Any] | None]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class FaultProxy:
    """``FaultProxy(upstream_url, fault)`` serves at ``.url`` until :meth:`close`."""

    def __init__(self, upstream: str, fault: Fault | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.faults_applied = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers_in = {k.lower(): v for k, v in self.headers.items()}
                answer = proxy.fault(self.command, self.path, headers_in, body) if proxy.fault else None
                if answer is not None:
                    proxy.faults_applied += 1
                    status, payload = answer
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                with httpx.Client(timeout=30) as client:
                    resp = client.request(
                        self.command, proxy.upstream + self.path, content=body or None, headers=headers
                    )
                self.send_response(resp.status_code)
                for key, value in resp.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("content-length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
