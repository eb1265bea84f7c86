"""Nothing atcheck created survives a run: not after Ctrl-C, and not (beyond the next run) after SIGKILL.

Each test starts a child Python that launches one container through a Stack and then waits; the parent
interrupts or kills it and looks for containers and networks carrying the child's run label.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atcheck.containers import cleanup, engine

pytestmark = pytest.mark.usefixtures("base_image")

MANIFEST = """
name = "sleeper"
implementation = "selftest"
version = "1"
[[service]]
name = "pds"
roles = ["pds"]
health = { path = "/", timeout = 30 }
[service.container]
image = "atcheck/base"
port = 8080
command = ["sleep", "600"]
"""

# The child: start the target, say so, then wait to be interrupted. No try/finally: cleanup on Ctrl-C must
# come from the launcher's own guards (as when pytest is interrupted between tests).
CHILD = """
import sys, time
from pathlib import Path
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers import container
from atcheck.targets.manifest import load_manifest
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack

run_id, root = sys.argv[1], Path(sys.argv[2])
manifest = load_manifest(root / "sleeper.toml")
labels = {"org.atcheck.run": run_id}
ctx = LaunchContext(run_id=run_id, run_dir=root / "run", log_dir=root / "logs", labels=labels)
stack = Stack([TargetSpec.of(manifest, "container")], ctx)
# No health endpoint in this image: start the container without waiting for readiness.
container.wait_for_service = lambda *a, **k: 0.0
stack.start("sleeper@container")
print("STARTED", flush=True)
time.sleep(120)
"""


def start_child(tmp_path: Path, run_id: str) -> subprocess.Popen[str]:
    (tmp_path / "sleeper.toml").write_text(MANIFEST)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, run_id, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell's background jobs ignore SIGINT; the child must get Python's default handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if "STARTED" not in line:
        child.kill()
        pytest.fail(f"child did not start: {line}{child.stdout.read()}")
    return child


def leftovers(run_id: str) -> cleanup.Removed:
    client = engine.client()
    try:
        return cleanup.leftovers(client, run_id=run_id)
    finally:
        client.close()


def test_ctrl_c_removes_the_runs_containers_and_network(tmp_path: Path) -> None:
    run_id = f"ctrlc-{os.getpid()}-{time.monotonic_ns() % 100000}"
    child = start_child(tmp_path, run_id)
    try:
        made = leftovers(run_id)
        assert len(made.containers) == 1 and len(made.networks) == 1
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
    finally:
        child.kill()
    assert not leftovers(run_id), leftovers(run_id).summary()


def test_after_sigkill_the_next_launcher_removes_the_dead_runs_leftovers(tmp_path: Path) -> None:
    run_id = f"killed-{os.getpid()}-{time.monotonic_ns() % 100000}"
    child = start_child(tmp_path, run_id)
    child.kill()  # no handler runs: the container and network stay behind
    child.wait(timeout=10)
    try:
        assert leftovers(run_id), "SIGKILL should have left the container behind"
        client = engine.client()
        try:
            removed = cleanup.remove_resources(client, stale_only=True)
        finally:
            client.close()
        assert any(run_id in name for name in removed.containers)
        assert not leftovers(run_id)
    finally:
        client = engine.client()
        try:
            cleanup.remove_resources(client, run_id=run_id)
        finally:
            client.close()
