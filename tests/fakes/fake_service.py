"""A tiny HTTP service that misbehaves on request, so the target harness can be tested without Node.

Run as ``python fake_service.py --port N --mode MODE``. Modes:

- ``healthy``        serve HTTP on 127.0.0.1:N (``/``, ``/xrpc/_health``, ``/env?name=X``, ``/argv``)
- ``die``            print a reason to stderr and exit 3 before listening
- ``never-ready``    run, but never listen
- ``unhealthy``      listen, but answer every request with HTTP 503
- ``ignore-term``    like healthy, but ignore SIGTERM (only SIGKILL stops it)
- ``spawn-child``    like healthy, after starting a child process (its pid goes to ``--pid-file``); with
                     ``--child-ignores-term`` the child ignores SIGTERM
- ``die-leaving-child``  start a child that ignores SIGTERM (pid to ``--pid-file``), then exit 3

``--tag T`` is ignored by the service and passed on to its child: tests find every process they caused by
looking for T in /proc/*/cmdline. Only the standard library: it runs under whatever Python the harness uses.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHILD_CODE = (
    "import signal, sys, time\n"
    "if sys.argv[1] == 'ignore': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "while True: time.sleep(1)\n"
)


class Handler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/env":
            name = parse_qs(parts.query).get("name", [""])[0]
            body: object = {"name": name, "value": os.environ.get(name)}
        elif parts.path == "/argv":
            body = {"argv": sys.argv[1:], "cwd": os.getcwd()}
        else:
            body = {"ok": self.status < 500, "path": parts.path}
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print("request:", format % args, flush=True)


class Unhealthy(Handler):
    status = 503


def spawn_child(pid_file: str, ignore_term: bool, tag: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD_CODE, "ignore" if ignore_term else "obey", tag])
    with open(pid_file, "w", encoding="utf-8") as out:
        out.write(str(child.pid))
    # Give the child time to install its signal handler before anyone signals the group.
    time.sleep(0.3)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", default="healthy")
    parser.add_argument("--pid-file")
    parser.add_argument("--child-ignores-term", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    print(f"fake service starting: mode={args.mode} port={args.port}", flush=True)

    if args.mode == "die":
        print("fatal: cannot open the database at /nonexistent (fake)", file=sys.stderr, flush=True)
        return 3
    if args.mode == "die-leaving-child":
        spawn_child(args.pid_file, ignore_term=True, tag=args.tag)
        print("fatal: leaving a child behind (fake)", file=sys.stderr, flush=True)
        return 3
    if args.mode == "never-ready":
        while True:
            time.sleep(1)
    if args.mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.mode == "spawn-child":
        spawn_child(args.pid_file, ignore_term=args.child_ignores_term, tag=args.tag)

    handler = Unhealthy if args.mode == "unhealthy" else Handler
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print("fake service listening", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
