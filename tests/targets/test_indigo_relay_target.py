"""Self-test of the indigo-relay target: its setup script's contract, its manifest, a real start.

The live tests start the reference PDS and the relay through the Stack (the relay follows the PDS through
implementations/indigo-relay/start.py), check that the relay listens on 127.0.0.1 only, write a record on
the PDS and wait for its commit on the relay's subscribeRepos, and check that stopping leaves nothing
behind. They are skipped, with the setup script's reason, when the relay or Node is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from atcheck.accounts import Account, AccountFactory
from atcheck.oracle.cbor import decode_prefix, decode_strict
from atcheck.paths import project_root
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessService
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack
from atcheck.tools import missing_tools
from atcheck.xrpc.client import XrpcClient

SETUP = "scripts/setup-relay.sh"


# -- the setup script's contract (no install needed) -----


def _setup(*args: str, cache: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATCHECK_CACHE": str(cache)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", str(project_root() / SETUP), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def test_print_env_without_install_fails_with_one_line(tmp_path: Path) -> None:
    done = _setup("--print-env", cache=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "not installed" in lines[0] and SETUP in lines[0]


def test_without_go_setup_fails_with_the_reason_and_installs_nothing(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with bash and coreutils but no go
    bin_dir.mkdir()
    for tool in ("bash", "tr", "mkdir", "cat", "sed", "dirname"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    done = _setup(cache=tmp_path / "cache", path=str(bin_dir))
    assert done.returncode == 1
    assert "Go is not installed" in done.stderr
    assert not (tmp_path / "cache" / "relay").exists() or not any((tmp_path / "cache" / "relay").iterdir())


def test_setup_rejects_unknown_options(tmp_path: Path) -> None:
    done = _setup("--frobnicate", cache=tmp_path)
    assert done.returncode == 1 and "unknown option" in done.stderr


def test_setup_sh_goes_on_when_the_relay_cannot_be_installed() -> None:
    text = (project_root() / "scripts/setup.sh").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if "setup-relay.sh" in line and not line.startswith("#")]
    assert line.rstrip().endswith("||"), "setup.sh must not stop when the optional relay fails to install"


# -- the manifest -----


def test_manifest_declares_a_loopback_relay_following_every_pds() -> None:
    manifest = builtin_manifests()["indigo-relay"]
    version = (project_root() / "implementations/indigo-relay/VERSION").read_text().strip()
    assert version == f"v{manifest.version}"
    (service,) = manifest.services
    assert service.roles == (Role.RELAY,)
    assert service.needs == (Role.PLC,) and service.needs_all == (Role.PDS,)
    assert service.process is not None and service.process.requires == ("indigo_relay",)
    env = service.process.env
    assert env["RELAY_API_BIND"] == "{host}:{port}"
    assert env["ATCHECK_RELAY_UPSTREAMS"] == "{all:pds.host_url}"
    assert env["RELAY_ADMIN_PASSWORD"] == service.credentials["admin_password"] == "{secret:relay-admin}"
    assert env["DATABASE_URL"].startswith("sqlite://{data_dir}/")


# -- live: the reference PDS and the relay through the Stack -----


@dataclass
class Live:
    stack: Stack
    relay: ServiceEndpoint
    pds: ServiceEndpoint
    relay_service: ProcessService


def _skip_unless_installed() -> None:
    for tools in (("indigo_relay",), ("node22", "reference_dir")):
        problem = missing_tools(tools)
        if problem:
            pytest.skip(problem)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _skip_unless_installed()
    run_dir = tmp_path_factory.mktemp("relay-run")
    builtins = builtin_manifests()
    ctx = LaunchContext(run_id="relay-selftest", run_dir=run_dir, log_dir=run_dir / "logs")
    targets = {"reference": builtins["reference"], "indigo-relay": builtins["indigo-relay"]}
    specs = [TargetSpec.of(m) for m in targets.values()]
    stack = Stack(specs, ctx, fallback_providers=[builtins["reference"]])
    try:
        running = stack.start("indigo-relay")
        relay = running.endpoint(Role.RELAY)
        assert relay is not None
        (pds,) = running.needs_all[Role.PDS]
        (service,) = [
            s for s in stack.running_services() if isinstance(s, ProcessService) and s.spec.name == "relay"
        ]
        yield Live(stack=stack, relay=relay, pds=pds, relay_service=service)
    finally:
        stack.stop_all()


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            assert len(hex_addr) == width
            raw = bytes.fromhex(hex_addr)
            # /proc prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            family = socket.AF_INET if width == 8 else socket.AF_INET6
            found.append((socket.inet_ntop(family, words), int(hex_port, 16)))
    return found


def test_relay_listens_on_loopback_only(live: Live) -> None:
    sockets = _listening(live.relay_service.process.pid)
    ports = {port for _, port in sockets}
    assert urlsplit(live.relay.url).port in ports
    assert len(ports) >= 2, sockets  # the API and the metrics listener
    assert {address for address, _ in sockets} == {"127.0.0.1"}, sockets


def test_relay_follows_the_pds_of_the_run(live: Live) -> None:
    log = live.relay_service.log_path.read_text(encoding="utf-8", errors="replace")
    assert f"subscribing to localhost:{urlsplit(live.pds.url).port}" in log


Frames = Iterator[tuple[dict[str, Any], dict[str, Any]]]


def _commit_for(frames: Frames, did: str, path: str) -> dict[str, Any]:
    for header, body in frames:
        if header.get("t") == "#commit" and body.get("repo") == did:
            ops = body.get("ops")
            if isinstance(ops, list) and any(isinstance(op, dict) and op.get("path") == path for op in ops):
                return body
    raise AssertionError("unreachable")


def test_a_pds_write_comes_out_of_the_relay(live: Live) -> None:
    client = XrpcClient(live.pds.url)
    try:
        account: Account = AccountFactory(live.pds, client, provisioning="xrpc", handle_domain=".test")()
        ws_url = live.relay.url.replace("http://", "ws://") + "/xrpc/com.atproto.sync.subscribeRepos"
        with connect(ws_url, open_timeout=10, close_timeout=2) as ws:
            created = account.client.procedure(
                "com.atproto.repo.createRecord",
                {
                    "repo": account.did,
                    "collection": "com.example.atcheck.note",
                    "record": {"$type": "com.example.atcheck.note", "text": "via the relay"},
                },
            )
            assert created.status == 200, created.text
            path = "com.example.atcheck.note/" + created.json()["uri"].rsplit("/", 1)[1]
            deadline = time.monotonic() + 20

            def frames() -> Frames:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        pytest.fail(f"no #commit for {path} on the relay within 20 s")
                    data = ws.recv(timeout=left)
                    assert isinstance(data, bytes)
                    header, end = decode_prefix(data)
                    body = decode_strict(data[end:])
                    assert isinstance(header, dict) and isinstance(body, dict)
                    yield header, body

            commit = _commit_for(frames(), account.did, path)
    finally:
        client.close()
    assert isinstance(commit.get("seq"), int) and commit["seq"] > 0
    with httpx.Client(base_url=live.relay.url, timeout=10, trust_env=False) as relay:
        latest = relay.get("/xrpc/com.atproto.sync.getLatestCommit", params={"did": account.did})
        assert latest.status_code == 200 and latest.json()["rev"] == commit["rev"], latest.text
        # (listHosts lists a host only once its cursor is persisted, every 4 s; getHostStatus at once.)
        hostname = f"localhost:{urlsplit(live.pds.url).port}"
        status = relay.get("/xrpc/com.atproto.sync.getHostStatus", params={"hostname": hostname})
        assert status.status_code == 200 and status.json()["status"] == "active", status.text


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.hostname, parts.port)) == 0


def test_stop_all_stops_the_relay_cleanly(live: Live) -> None:
    """Runs last in this module (pytest keeps file order): it stops the shared stack."""
    service = live.relay_service
    assert service.alive()
    live.stack.stop_all()
    assert not service.alive()
    # The relay shuts down on SIGTERM by itself (exit 0), within the grace period, not by SIGKILL.
    assert service.process.returncode == 0, service.exit_summary()
    with pytest.raises(ProcessLookupError):
        os.killpg(service.process.pid, 0)
    assert not _port_open(live.relay.url) and not _port_open(live.pds.url)
    log = service.log_path.read_text(encoding="utf-8", errors="replace")
    assert "shutdown complete" in log
