"""Self-test helper: a PLC and indigo's relay on loopback, the relay subscribed to one upstream host.

Until the ``indigo-relay`` target lands, the hostile upstream is proven against a relay binary started here
(``ATCHECK_RELAY_BIN``, else /tmp/relaybuild/bin/relay, else the ``indigo_relay`` tool when setup provides
it). A loopback host cannot be added through the relay's API (it refuses non-public addresses), so, as
shared/design/federation.md found: start the relay once (its migrations create the tables), insert the
host row into its sqlite (trusted, no SSL, live only), and start it again; it subscribes to every active
host at start. Everything started here is stopped when the context exits.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from atcheck.targets.launchers.process import stop_process_group
from atcheck.targets.ports import free_port
from atcheck.targets.tools import TOOLS, missing_tools, resolve_tool

DEFAULT_RELAY_BIN = Path("/tmp/relaybuild/bin/relay")
HEALTH_TIMEOUT_S = 30.0


def relay_binary() -> Path | None:
    given = os.environ.get("ATCHECK_RELAY_BIN")
    if given:
        return Path(given)
    if "indigo_relay" in TOOLS and not missing_tools(("indigo_relay",)):
        return Path(resolve_tool("indigo_relay"))
    return DEFAULT_RELAY_BIN if DEFAULT_RELAY_BIN.is_file() else None


def require_relay_and_plc() -> Path:
    binary = relay_binary()
    if binary is None or not binary.is_file():
        pytest.skip("indigo's relay is not built here (set ATCHECK_RELAY_BIN)")
    problem = missing_tools(("node22", "reference_dir"))
    if problem:
        pytest.skip(problem)
    return binary


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    with httpx.Client(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited ({process.returncode}): {log.read_text()[-800:]}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy in {HEALTH_TIMEOUT_S} s")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


@contextlib.contextmanager
def running_plc(workdir: Path) -> Iterator[str]:
    port = free_port()
    log = workdir / "plc.log"
    process = _start(
        [resolve_tool("node22"), f"{resolve_tool('reference_dir')}/start-plc.mjs", "--port", str(port)],
        {"LOG_ENABLED": "false"},
        log,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_health", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(process)


@dataclass
class RelayProcess:
    url: str
    log: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def seed_host(database: Path, hostname: str) -> None:
    """Insert an active, trusted, no-SSL, live-only host row (what the relay API refuses for loopback)."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute(
            "INSERT INTO host (created_at, updated_at, hostname, no_ssl, account_limit, trusted, status,"
            " last_seq, account_count) VALUES (datetime('now'), datetime('now'), ?, 1, 1000000, 1,"
            " 'active', -1, 0)",
            (hostname,),
        )
        db.commit()


@contextlib.contextmanager
def running_relay(
    binary: Path, workdir: Path, plc_url: str, upstream_hostname: str
) -> Iterator[RelayProcess]:
    port, metrics = free_port(), free_port()
    plc_port = plc_url.rsplit(":", 1)[1]
    env = {
        "DATABASE_URL": f"sqlite://{workdir}/relay.sqlite",
        "RELAY_PERSIST_DIR": str(workdir / "persist"),
        "RELAY_API_BIND": f"127.0.0.1:{port}",
        "RELAY_METRICS_LISTEN": f"127.0.0.1:{metrics}",
        "RELAY_PLC_HOST": f"http://localhost:{plc_port}",
        "RELAY_ADMIN_PASSWORD": "atcheck-selftest",
        "RELAY_LOG_LEVEL": "debug",
    }
    log = workdir / "relay.log"
    url = f"http://127.0.0.1:{port}"
    first = _start([str(binary), "serve"], env, log)
    try:
        _wait_healthy(f"{url}/xrpc/_health", first, log)
    finally:
        stop_process_group(first)
    seed_host(workdir / "relay.sqlite", upstream_hostname)
    process = _start([str(binary), "serve"], env, log)
    try:
        _wait_healthy(f"{url}/xrpc/_health", process, log)
        yield RelayProcess(url, log)
    finally:
        stop_process_group(process)
