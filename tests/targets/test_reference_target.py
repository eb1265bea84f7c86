"""Self-test of the built-in ``reference`` target: it starts through the Stack, serves a PDS whose accounts
are registered at its PLC, listens on loopback only, and leaves no process or port behind after stop_all.

Skipped (with the reason) only when ``scripts/setup-node.sh --print-env`` says Node 22 and the reference
packages are not installed; every other problem is a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessService
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.tools import missing_tools

TOOLS = ("node22", "reference_dir")


@dataclass
class Started:
    stack: Stack
    target: RunningTarget
    services: list[ProcessService]

    def endpoint(self, role: Role) -> ServiceEndpoint:
        found = self.target.endpoint(role)
        assert found is not None, f"the reference target has no {role.value} endpoint"
        return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    problem = missing_tools(TOOLS)
    if problem:
        pytest.skip(f"reference target not installed: {problem}")
    root = tmp_path_factory.mktemp("reference-run")
    ctx = LaunchContext(run_id="selftest", run_dir=root / "run", log_dir=root / "logs")
    stack = Stack([TargetSpec.of(builtin_manifests()["reference"])], ctx)
    try:
        target = stack.start("reference")
        services = [s for s in stack.running_services() if isinstance(s, ProcessService)]
        yield Started(stack=stack, target=target, services=services)
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(15.0), trust_env=False) as http:
        yield http


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel writes them) of TCP sockets listening on ``port``."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, port_hex = fields[1].rpartition(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def test_both_services_answer_their_health_checks(reference: Started, client: httpx.Client) -> None:
    plc = client.get(reference.endpoint(Role.PLC).url + "/_health")
    pds = client.get(reference.endpoint(Role.PDS).url + "/xrpc/_health")
    assert plc.status_code == 200, plc.text
    assert pds.status_code == 200, pds.text
    assert pds.json().get("version") == reference.target.manifest.version


def test_services_listen_on_loopback_only(reference: Started) -> None:
    loopback_v4 = "0100007F"  # 127.0.0.1 in /proc/net/tcp's byte order
    for role in (Role.PLC, Role.PDS):
        port = _port(reference.endpoint(role).url)
        assert _listening_addresses(port) == {loopback_v4}, f"{role.value} on port {port}"


def test_describe_server_matches_the_manifest(reference: Started, client: httpx.Client) -> None:
    pds = reference.endpoint(Role.PDS)
    response = client.get(pds.url + "/xrpc/com.atproto.server.describeServer")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["did"] == pds.did == f"did:web:localhost%3A{_port(pds.url)}"
    assert body["availableUserDomains"] == [reference.target.manifest.handle_domain]
    assert body["inviteCodeRequired"] is False
    assert pds.credentials.admin_password, "the manifest must hand suites the admin password"


def test_created_account_is_registered_at_the_plc(reference: Started, client: httpx.Client) -> None:
    pds = reference.endpoint(Role.PDS)
    plc = reference.endpoint(Role.PLC)
    created = client.post(
        pds.url + "/xrpc/com.atproto.server.createAccount",
        json={"handle": "alice.test", "email": "alice@example.com", "password": "selftest-alice-pw"},
    )
    assert created.status_code == 200, created.text
    did = created.json()["did"]
    assert did.startswith("did:plc:")

    document = client.get(f"{plc.url}/{did}")
    assert document.status_code == 200, document.text
    doc = document.json()
    assert doc["id"] == did
    assert "at://alice.test" in doc["alsoKnownAs"]
    endpoints = {s["id"]: s["serviceEndpoint"] for s in doc["service"]}
    assert endpoints["#atproto_pds"] == f"http://localhost:{_port(pds.url)}"

    # The PDS itself resolves the DID through the PLC (this fails if PDS_DID_PLC_URL is an IP literal).
    described = client.get(pds.url + "/xrpc/com.atproto.repo.describeRepo", params={"repo": did})
    assert described.status_code == 200, described.text
    assert described.json()["handleIsCorrect"] is True

    # A write lands in the repo the PDS serves for that DID.
    auth = {"Authorization": f"Bearer {created.json()['accessJwt']}"}
    record = {"$type": "app.bsky.feed.post", "text": "selftest", "createdAt": "2026-01-01T00:00:00.000Z"}
    written = client.post(
        pds.url + "/xrpc/com.atproto.repo.createRecord",
        headers=auth,
        json={"repo": did, "collection": "app.bsky.feed.post", "record": record},
    )
    assert written.status_code == 200, written.text
    repo = client.get(pds.url + "/xrpc/com.atproto.sync.getRepo", params={"did": did})
    assert repo.status_code == 200, repo.text
    assert repo.headers["content-type"].startswith("application/vnd.ipld.car")


def test_stop_all_leaves_no_process_and_no_port(reference: Started) -> None:
    assert {s.spec.name for s in reference.services} == {"plc", "pds"}
    groups = [s.process.pid for s in reference.services]  # each service leads its own process group
    ports = [_port(e.url) for s in reference.services for e in s.endpoints]
    assert all(s.alive() for s in reference.services)

    reference.stack.stop_all()

    for pgid in groups:
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
    for port in ports:
        assert not _listening_addresses(port), f"port {port} still listening"
        with socket.socket() as sock, pytest.raises(OSError):
            sock.settimeout(1.0)
            sock.connect(("127.0.0.1", port))
    assert reference.stack.running_services() == []
