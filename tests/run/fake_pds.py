"""A fake PDS for self-tests of the plugin: just enough XRPC to pass and fail a few checks on purpose.

Usage: fake_pds.py PORT PIDFILE. FAKE_MODE=die exits at once with status 3, as a broken server would.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/xrpc/_health":
            self._send(200, {"version": "fake"})
        elif path == "/xrpc/com.example.die":
            os._exit(7)  # a server that crashes in the middle of a run
        elif path == "/xrpc/com.atproto.server.describeServer":
            self._send(200, {"did": "did:web:fake.test", "availableUserDomains": [".test"]})
        else:
            # Echo a header back, as careless servers do: a secret sent in it must not reach any report.
            echo = self.headers.get("X-Echo", "")
            self._send(501, {"error": "MethodNotImplemented", "message": f"no such method {echo}"})

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    port, pidfile = int(sys.argv[1]), sys.argv[2]
    with open(pidfile, "w", encoding="utf-8") as out:
        out.write(str(os.getpid()))
    if os.environ.get("FAKE_MODE") == "die":
        print("fake pds: refusing to start", file=sys.stderr)
        sys.exit(3)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
