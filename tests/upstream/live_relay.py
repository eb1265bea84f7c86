"""Self-test helper: the run's PLC (the reference's @did-plc/server) and the indigo-relay target's binary.

The relay itself is started through :func:`atcheck.upstream.relay_instance.relay_following`, the same path
the suite takes (the built-in ``indigo-relay`` manifest, whose start wrapper seeds the upstream host into
the relay's sqlite). Skipped, with the reason, when the relay or Node is not installed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atcheck.targets.launchers.process import stop_process_group
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.ports import free_port
from atcheck.tools import missing_tools, resolve_tool

HEALTH_TIMEOUT_S = 30.0


def require_relay_and_plc() -> None:
    for tools in (("indigo_relay",), ("node22", "reference_dir")):
        problem = missing_tools(tools)
        if problem:
            pytest.skip(problem)


@contextlib.contextmanager
def running_plc(workdir: Path) -> Iterator[ServiceEndpoint]:
    """An in-memory PLC on a free loopback port (the reference target's start script)."""
    port = free_port()
    log = workdir / "plc.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [resolve_tool("node22"), f"{resolve_tool('reference_dir')}/start-plc.mjs", "--port", str(port)],
            env={**os.environ, "LOG_ENABLED": "false"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        with httpx.Client(timeout=2, trust_env=False) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the PLC exited ({process.returncode}): {log.read_text()[-800:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{url}/_health").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the PLC did not answer {url}/_health in {HEALTH_TIMEOUT_S} s")
                time.sleep(0.1)
        yield ServiceEndpoint(target="reference", service="plc", role=Role.PLC, url=url)
    finally:
        stop_process_group(process)
