"""The container launcher against a remote Docker engine: ``DOCKER_HOST=tcp://127.0.0.1:PORT``.

Users who outgrow one machine point atcheck at an engine elsewhere. Here the "elsewhere" is a second dockerd
on this machine, listening on a TCP socket bound to 127.0.0.1 only, with its own data-root, exec-root and
pidfile, no default bridge and no iptables rules (so it cannot disturb the first engine, or other engineers'
containers). The test builds the reference image *on that engine* through atcheck's builder, starts
``reference@container`` there through the launcher, talks to its PDS and PLC over the published ports, and
checks that the containers lived on the TCP engine and are gone afterwards.

What it does not check: a PDS reaching its PLC container to container. With iptables off, the second engine
adds no FORWARD rule, and the first engine's ``FORWARD DROP`` policy (with ``br_netfilter``) drops bridged
traffic between its containers; that is this machine's firewall, not the launcher.

The data-root is kept in the atcheck cache (flock-guarded) so that the image is built once (~50 s), not on
every run. Skipped, with the reason, where dockerd is absent or we are not root.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atcheck.containers import builder, cleanup, engine
from atcheck.containers.recipes import RECIPES
from atcheck.errors import SetupError
from atcheck.paths import cache_root
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
#: Address pool of the second engine's networks, apart from the first engine's 172.17-31 defaults.
ADDRESS_POOL = "base=10.213.0.0/16,size=24"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(host: str) -> bool:
    try:
        done = subprocess.run(
            ["docker", "-H", host, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to dockerd (it stops its containers and its containerd first), SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def tcp_engine() -> Iterator[str]:
    """A second dockerd on tcp://127.0.0.1:<free port>; yields its DOCKER_HOST; always stopped."""
    if not shutil.which("dockerd") or not shutil.which("docker"):
        pytest.skip("dockerd is not installed (bash scripts/docker-engine.sh start installs it)")
    if os.geteuid() != 0:
        pytest.skip("a second dockerd needs root")
    state = cache_root() / "remote-engine"
    state.mkdir(parents=True, exist_ok=True)
    with (state / "lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pytest.skip(f"another self-test uses the second engine's data-root ({state})")
        # exec-root holds unix sockets, whose paths must stay short: a fresh folder directly under /tmp.
        exec_root = Path(tempfile.mkdtemp(prefix="atck-dk2-", dir="/tmp"))
        host = f"tcp://127.0.0.1:{_free_port()}"
        log = (state / "dockerd.log").open("ab")
        proc = subprocess.Popen(
            [
                "dockerd",
                f"--host={host}",
                f"--data-root={state / 'data'}",
                f"--exec-root={exec_root}",
                f"--pidfile={exec_root / 'dockerd.pid'}",
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                f"--default-address-pool={ADDRESS_POOL}",
                "--storage-driver=overlay2",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _answers(host):
                if proc.poll() is not None:
                    pytest.skip(
                        f"the second dockerd exited at start ({proc.returncode}); see {state}/dockerd.log"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"the second dockerd did not answer on {host} within 60 s")
                time.sleep(0.2)
            yield host
        finally:
            _stop(proc)
            log.close()
            shutil.rmtree(exec_root, ignore_errors=True)


@pytest.fixture
def on_tcp_engine(tcp_engine: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_HOST pointed at the TCP engine, and the reference image built there (once per data-root)."""
    monkeypatch.setenv("DOCKER_HOST", tcp_engine)
    assert engine.docker_host() == tcp_engine and engine.engine_problem() is None
    try:
        tag = builder.image_tag(RECIPES["reference"])
    except SetupError as exc:
        pytest.skip(f"reference installs missing: {exc}")
    if not builder.image_exists(tag):
        if not builder.base_tarball().is_file() and not shutil.which("debootstrap"):
            pytest.skip("no cached base rootfs and no debootstrap to make one (bash scripts/build-images.sh)")
        builder.build(["reference"])
    return tag


def _containers(run_id: str) -> list[str]:
    client = engine.client()
    try:
        found = client.containers.list(all=True, filters={"label": f"{cleanup.LABEL_RUN}={run_id}"})
        return [c.name for c in found]
    finally:
        client.close()


def test_launcher_runs_the_reference_on_a_tcp_engine(on_tcp_engine: str, tmp_path: Path) -> None:
    run_id = f"remote-{tmp_path.name[-10:]}".replace("_", "-")
    ctx = LaunchContext(
        run_id=run_id, run_dir=tmp_path / "run", log_dir=tmp_path / "logs", labels={"org.atcheck.run": run_id}
    )
    stack = Stack([TargetSpec.of(builtin_manifests()["reference"], "container")], ctx)
    try:
        running = stack.start("reference@container")
        pds, plc = running.endpoints[Role.PDS], running.endpoints[Role.PLC]
        assert pds.url.startswith("http://127.0.0.1:") and plc.url.startswith("http://127.0.0.1:")
        with httpx.Client(timeout=20, trust_env=False) as client:
            described = client.get(f"{pds.url}/xrpc/com.atproto.server.describeServer")
            assert described.status_code == 200, described.text
            assert described.json()["did"] == pds.did
            assert client.get(f"{plc.url}/_health").status_code == 200
        # The containers run on the TCP engine (the one DOCKER_HOST names), labelled with this run.
        names = _containers(run_id)
        assert len(names) == 2 and all(n.startswith(f"atcheck-{run_id}-") for n in names), names
    finally:
        stack.stop_all()
    client = engine.client()
    try:
        assert not cleanup.leftovers(client, run_id=run_id)
    finally:
        client.close()
    assert (ctx.log_dir / "reference@container-pds.log").stat().st_size > 0
