"""Start the indigo relay subscribed to every PDS of the run (atcheck's start wrapper; stdlib only).

Why a wrapper: the relay refuses to add a loopback PDS through its API (admin ``requestCrawl`` checks the host
with a public-only HTTP client: "127.0.0.1 is not a public IP address"), yet it dials ``ws://localhost:PORT``
happily for a host row marked ``no_ssl``. So, when the run has PDSes, this wrapper

1. starts the relay once on throw-away loopback ports, so its own migrations create the sqlite tables, and
   stops it as soon as it answers ``/xrpc/_health``;
2. writes one ``host`` row per PDS: hostname ``localhost:PORT``, no_ssl, trusted (no per-host rate limit
   stalls bulk writes), active, a large account limit, ``last_seq = -1`` (live only: the relay follows what
   happens from now on, without replaying history);
3. replaces itself with the relay (``exec``), which subscribes to every active host at start. The launcher's
   process-group stop then stops the relay itself.

In a container (``indigo-relay@container``) the PDSes are other containers, reached by network alias, yet
their DID documents name ``http://localhost:PORT`` and the relay accepts an account only from exactly that
host. ``ATCHECK_RELAY_DIAL`` then lists where each PDS really is (``{all:pds.url}``, in the order of
``ATCHECK_RELAY_UPSTREAMS``): for each one not on this machine's loopback, the wrapper listens on
``127.0.0.1:PORT`` and forwards each connection there, so ``localhost:PORT`` means the same PDS inside the
container as outside. It then stays as the relay's parent (passing on SIGTERM) instead of ``exec``-ing it.

Configuration (environment): ``RELAY_BIN`` (the binary), ``ATCHECK_RELAY_UPSTREAMS`` (comma-separated PDS
URLs, e.g. ``http://localhost:2583,http://localhost:2600``; empty for none), ``DATABASE_URL``
(``sqlite://<path>``), ``RELAY_API_BIND`` and everything else the relay reads itself.
``RELAY_METRICS_LISTEN``, which defaults to every interface, is set to a free loopback port when not given.
Errors are one line on stderr and exit status 2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

FIRST_START_TIMEOUT_S = 30.0
ACCOUNT_LIMIT = 1_000_000


def die(message: str) -> None:
    print(f"indigo-relay start: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def upstream_hosts(value: str) -> list[tuple[str, bool]]:
    """``(hostname, no_ssl)`` per PDS URL: the relay names a host ``host[:port]`` without a scheme."""
    hosts: list[tuple[str, bool]] = []
    for raw in (part.strip() for part in value.split(",")):
        if not raw:
            continue
        url = urlsplit(raw)
        if url.scheme not in ("http", "https") or not url.hostname:
            die(f"ATCHECK_RELAY_UPSTREAMS: not an http(s) URL: {raw!r}")
        hostname = url.hostname if url.port is None else f"{url.hostname}:{url.port}"
        if (hostname, url.scheme == "http") not in hosts:
            hosts.append((hostname, url.scheme == "http"))
    return hosts


def sqlite_path(database_url: str) -> str:
    for prefix in ("sqlite://", "sqlite="):
        if database_url.startswith(prefix):
            return database_url[len(prefix) :]
    die(f"DATABASE_URL must be sqlite://<path> for the wrapper to seed hosts, got {database_url!r}")
    raise AssertionError  # unreachable


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(process: subprocess.Popen[bytes], url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            die(f"the relay exited with code {process.returncode} during its first (migration) start")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    die(f"the relay's first (migration) start did not answer {url} within {timeout_s:.0f} s")


def migrate(relay: str, env: dict[str, str]) -> None:
    """Run the relay once on throw-away ports so it creates its tables, then stop it."""
    api, metrics = free_loopback_port(), free_loopback_port()
    first_env = {**env, "RELAY_API_BIND": f"127.0.0.1:{api}", "RELAY_METRICS_LISTEN": f"127.0.0.1:{metrics}"}
    process = subprocess.Popen([relay, "serve"], env=first_env, stdin=subprocess.DEVNULL)
    try:
        wait_healthy(process, f"http://127.0.0.1:{api}/xrpc/_health", FIRST_START_TIMEOUT_S)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def seed_hosts(path: str, hosts: list[tuple[str, bool]]) -> None:
    """Insert (or re-activate) one trusted host row per PDS."""
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    try:
        with sqlite3.connect(path, timeout=10) as db:
            for hostname, no_ssl in hosts:
                db.execute(
                    "INSERT INTO host (created_at, updated_at, hostname, no_ssl, account_limit, trusted,"
                    " status, last_seq, account_count) VALUES (?, ?, ?, ?, ?, 1, 'active', -1, 0)"
                    " ON CONFLICT(hostname) DO UPDATE SET no_ssl = excluded.no_ssl,"
                    " account_limit = excluded.account_limit, trusted = 1, status = 'active',"
                    " updated_at = excluded.updated_at",
                    (now, now, hostname, int(no_ssl), ACCOUNT_LIMIT),
                )
    except sqlite3.Error as exc:
        die(f"could not seed the host table in {path}: {exc}")


def forwards(upstreams: str, dial: str) -> list[tuple[int, str, int]]:
    """(local port, remote host, remote port) for each upstream that is not on this machine's loopback."""
    names = [p.strip() for p in upstreams.split(",") if p.strip()]
    where = [p.strip() for p in dial.split(",") if p.strip()]
    if not where:
        return []
    if len(where) != len(names):
        die(f"ATCHECK_RELAY_DIAL names {len(where)} PDS(es), ATCHECK_RELAY_UPSTREAMS {len(names)}")
    found = []
    for name, real in zip(names, where, strict=True):
        local, remote = urlsplit(name), urlsplit(real)
        if not remote.hostname or not remote.port or not local.port:
            die(f"ATCHECK_RELAY_DIAL: {real!r} (for {name!r}) needs a host and a port")
        if remote.hostname not in ("127.0.0.1", "localhost", "::1"):
            found.append((local.port, remote.hostname, remote.port))
    return found


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def forward(port: int, host: str, remote_port: int) -> None:
    """Accept on 127.0.0.1:``port`` and pipe each connection to ``host``:``remote_port`` (a daemon thread)."""
    listener = socket.create_server(("127.0.0.1", port))

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            try:
                upstream = socket.create_connection((host, remote_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def supervise(relay: str, env: dict[str, str]) -> None:
    """Run the relay as a child (this process keeps the forwarders), pass SIGTERM on, exit with its code."""
    child = subprocess.Popen([relay, "serve"], env=env, stdin=subprocess.DEVNULL)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
    raise SystemExit(child.wait())


def main() -> None:
    relay = os.environ.get("RELAY_BIN", "")
    if not relay or not os.access(relay, os.X_OK):
        die(f"RELAY_BIN is not an executable: {relay!r} (run scripts/setup-relay.sh)")
    hosts = upstream_hosts(os.environ.get("ATCHECK_RELAY_UPSTREAMS", ""))
    env = dict(os.environ)
    env.setdefault("RELAY_METRICS_LISTEN", f"127.0.0.1:{free_loopback_port()}")
    if hosts:
        migrate(relay, env)
        seed_hosts(sqlite_path(env.get("DATABASE_URL", "")), hosts)
        names = ", ".join(h for h, _ in hosts)
        print(f"indigo-relay start: subscribing to {names}", file=sys.stderr, flush=True)
    else:
        print("indigo-relay start: the run has no PDS; it follows no host", file=sys.stderr, flush=True)
    dial = os.environ.get("ATCHECK_RELAY_DIAL", "")
    tunnels = forwards(os.environ.get("ATCHECK_RELAY_UPSTREAMS", ""), dial)
    if not tunnels:
        os.execve(relay, [relay, "serve"], env)
    for port, host, remote_port in tunnels:
        forward(port, host, remote_port)
        print(f"indigo-relay start: localhost:{port} -> {host}:{remote_port}", file=sys.stderr, flush=True)
    supervise(relay, env)


if __name__ == "__main__":
    main()
