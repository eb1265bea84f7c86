"""Self-test of the arroba target: its setup script's contract, its manifest, a real start through the Stack.

The live tests start arroba (scripts/setup-arroba.sh) against the reference target's PLC
(scripts/setup-node.sh), provision an account through the wrapper, write and read a record, fetch the repo
as a CAR, check the DID at the PLC, and check that nothing is left running afterwards. They are skipped only
when a setup script reports that its tool is not installed.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from atcheck.oracle.car import read_car
from atcheck.oracle.cbor import decode_prefix, decode_strict
from atcheck.paths import project_root
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessService
from atcheck.targets.manifest import KNOWN_CAPABILITIES, builtin_manifests
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.tools import missing_tools

SETUP = "scripts/setup-arroba.sh"
POST = {"$type": "app.bsky.feed.post", "text": "hello from atcheck", "createdAt": "2026-01-01T00:00:00.000Z"}


# -- the setup script's contract (no install needed) -----


def _setup(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATCHECK_CACHE": str(cache)}
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
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "not installed" in lines[0] and SETUP in lines[0]
    assert not (tmp_path / "arroba").exists() or not any((tmp_path / "arroba").iterdir())


def test_setup_rejects_unknown_arguments(tmp_path: Path) -> None:
    done = _setup("--frobnicate", cache=tmp_path)
    assert done.returncode != 0
    assert "unknown argument" in done.stderr


def test_requirements_pin_arroba_and_every_dependency() -> None:
    lines = [
        line.strip()
        for line in (project_root() / "implementations/arroba/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "arroba[flask,datastore]==3.1" in lines
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]


# -- the manifest -----


def test_manifest_declares_a_wrapper_provisioned_pds_needing_a_plc() -> None:
    manifest = builtin_manifests()["arroba"]
    assert manifest.provisioning == "wrapper"
    assert manifest.capabilities <= KNOWN_CAPABILITIES
    # Claims arroba cannot back must stay out (see the manifest's comments).
    assert not manifest.capabilities & {"account.create", "account.session", "repo.swap", "admin"}
    (service,) = manifest.services
    assert service.roles == (Role.PDS,) and service.needs == (Role.PLC,)
    assert service.process is not None
    assert service.process.command[0] == "{tool:arroba_python}"
    assert service.credentials == {"bearer_token": "{secret:arroba-admin}"}
    assert service.process.env["ATCHECK_ADMIN_TOKEN"] == "{secret:arroba-admin}"
    assert service.process.env["PLC_URL"] == "{plc.url}"


# -- live: arroba with the reference PLC through the Stack -----


@dataclass
class Live:
    stack: Stack
    target: RunningTarget
    pds: ServiceEndpoint
    plc: ServiceEndpoint
    services: list[ProcessService]


def _skip_unless_installed() -> None:
    for tools in (("arroba_python",), ("node22", "reference_dir")):
        problem = missing_tools(tools)
        if problem:
            pytest.skip(problem)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _skip_unless_installed()
    run_dir = tmp_path_factory.mktemp("arroba-run")
    builtins = builtin_manifests()
    ctx = LaunchContext(run_id="arroba-selftest", run_dir=run_dir, log_dir=run_dir / "logs")
    stack = Stack([TargetSpec.of(builtins["arroba"])], ctx, fallback_providers=[builtins["reference"]])
    try:
        target = stack.start("arroba")
        pds, plc = target.endpoint(Role.PDS), target.endpoint(Role.PLC)
        assert pds is not None and plc is not None
        services = [s for s in stack.running_services() if isinstance(s, ProcessService)]
        yield Live(stack=stack, target=target, pds=pds, plc=plc, services=services)
    finally:
        stack.stop_all()


def _admin(live: Live) -> httpx.Client:
    token = live.pds.credentials.bearer_token
    assert token
    return httpx.Client(
        base_url=live.pds.url, timeout=15, trust_env=False, headers={"Authorization": f"Bearer {token}"}
    )


def _provision(live: Live, handle: str) -> dict[str, Any]:
    with _admin(live) as client:
        resp = client.post("/atcheck/accounts", json={"handle": handle})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert isinstance(body, dict)
    return body


def test_starts_only_the_plc_of_the_reference(live: Live) -> None:
    names = sorted(f"{s.endpoints[0].target}/{s.spec.name}" for s in live.services)
    assert names == ["arroba/pds", "reference/plc"]
    assert urlsplit(live.pds.url).hostname == "127.0.0.1"


def test_provisioned_account_can_write_read_and_export(live: Live) -> None:
    account = _provision(live, "alice.test")
    assert account["handle"] == "alice.test"
    assert account["did"].startswith("did:plc:")
    assert account["accessJwt"] and account["refreshJwt"]
    did = account["did"]
    with httpx.Client(base_url=live.pds.url, timeout=15, trust_env=False) as client:
        created = client.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": did, "collection": "app.bsky.feed.post", "record": POST},
            headers={"Authorization": f"Bearer {account['accessJwt']}"},
        )
        assert created.status_code == 200, created.text
        uri = created.json()["uri"]
        assert uri.startswith(f"at://{did}/app.bsky.feed.post/")
        rkey = uri.rsplit("/", 1)[1]

        got = client.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
        )
        assert got.status_code == 200, got.text
        assert got.json()["value"] == POST
        assert got.json()["cid"] == created.json()["cid"]

        repo = client.get("/xrpc/com.atproto.sync.getRepo", params={"did": did})
        assert repo.status_code == 200, repo.text[:300]
        car = read_car(repo.content)
        assert len(car.roots) == 1 and car.roots[0] in car.blocks
        assert len(car.blocks) >= 3  # commit, MST node, the record


def test_did_is_registered_at_the_plc_naming_this_server(live: Live) -> None:
    account = _provision(live, "bob.test")
    with httpx.Client(timeout=15, trust_env=False) as client:
        resp = client.get(f"{live.plc.url}/{account['did']}")
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["id"] == account["did"]
    assert doc["alsoKnownAs"] == ["at://bob.test"]
    services = {s["id"].rsplit("#", 1)[-1]: s for s in doc["service"]}
    # A host name, not 127.0.0.1: a relay follows the PDS as localhost:PORT and drops events of accounts whose
    # #atproto_pds endpoint is not exactly that host.
    assert services["atproto_pds"]["serviceEndpoint"] == f"http://localhost:{urlsplit(live.pds.url).port}"
    methods = [m["id"].rsplit("#", 1)[-1] for m in doc["verificationMethod"]]
    assert methods == ["atproto"]


ADMIN = None  # stands for "the admin token" in the cases below


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        ({}, {"handle": "carol.test"}, 401, "AuthRequired"),
        ({"Authorization": "Bearer wrong"}, {"handle": "carol.test"}, 401, "AuthRequired"),
        (ADMIN, ["carol.test"], 400, "InvalidRequest"),
        (ADMIN, {"handle": "not a handle"}, 400, "InvalidHandle"),
        (ADMIN, {"handle": 7}, 400, "InvalidHandle"),
        (ADMIN, {"handle": "carol.example.com"}, 400, "InvalidHandle"),
    ],
)
def test_provisioning_rejects_bad_requests(
    live: Live, headers: dict[str, str] | None, body: object, status: int, error: str
) -> None:
    if headers is ADMIN:
        with _admin(live) as client:
            resp = client.post("/atcheck/accounts", json=body)
    else:
        resp = httpx.post(
            f"{live.pds.url}/atcheck/accounts", json=body, headers=headers, timeout=15, trust_env=False
        )
    assert resp.status_code == status, resp.text
    got = resp.json()
    assert got["error"] == error and isinstance(got["message"], str)


def test_provisioning_refuses_a_taken_handle(live: Live) -> None:
    _provision(live, "dave.test")
    with _admin(live) as client:
        resp = client.post("/atcheck/accounts", json={"handle": "dave.test"})
    assert resp.status_code == 400
    assert resp.json()["error"] == "HandleNotAvailable"


def test_firehose_carries_the_commit_of_a_write(live: Live) -> None:
    """The wrapper wires arroba's repo callback to its firehose: a write shows up on subscribeRepos."""
    account = _provision(live, "erin.test")
    ws_url = live.pds.url.replace("http://", "ws://") + "/xrpc/com.atproto.sync.subscribeRepos"
    with connect(ws_url, open_timeout=10, close_timeout=2) as ws, httpx.Client(trust_env=False) as client:
        created = client.post(
            f"{live.pds.url}/xrpc/com.atproto.repo.createRecord",
            json={"repo": account["did"], "collection": "app.bsky.feed.post", "record": POST},
            headers={"Authorization": f"Bearer {account['accessJwt']}"},
            timeout=15,
        )
        assert created.status_code == 200, created.text
        path = "app.bsky.feed.post/" + created.json()["uri"].rsplit("/", 1)[1]
        for _ in range(50):  # live frames only (no cursor): skip other accounts' events
            frame = ws.recv(timeout=10)
            assert isinstance(frame, bytes)
            header, end = decode_prefix(frame)
            body = decode_strict(frame[end:])
            assert isinstance(header, dict) and isinstance(body, dict)
            if header.get("t") == "#commit" and body.get("repo") == account["did"]:
                ops = body.get("ops")
                assert isinstance(ops, list) and ops
                assert [op.get("path") for op in ops if isinstance(op, dict)] == [path]
                return
    pytest.fail("no #commit frame for the write arrived on subscribeRepos")


def test_arroba_network_stays_on_this_machine(live: Live) -> None:
    """arroba resolves handles over DNS and HTTPS; the wrapper must refuse that traffic, not let it out."""
    resp = httpx.get(
        f"{live.pds.url}/xrpc/com.atproto.identity.resolveHandle",
        params={"handle": "example.com"},
        timeout=15,
        trust_env=False,
    )
    assert resp.status_code == 400 and resp.json()["error"] == "HandleNotFound", resp.text
    (arroba,) = [s for s in live.services if s.endpoints[0].target == "arroba"]
    log = arroba.log_path.read_text(encoding="utf-8", errors="replace")
    assert "refuses non-local requests: https://example.com/.well-known/atproto-did" in log


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.hostname, parts.port)) == 0


def test_stop_all_leaves_nothing_running(live: Live) -> None:
    """Runs last in this module (pytest keeps file order): it stops the shared stack."""
    assert all(s.alive() for s in live.services)
    live.stack.stop_all()
    assert not live.stack.running_services()
    for service in live.services:
        assert not service.alive()
        # The wrapper exits by itself on SIGTERM (code 0), it is not killed after the grace period.
        if service.endpoints[0].target == "arroba":
            assert service.process.returncode == 0, service.exit_summary()
        with pytest.raises(ProcessLookupError):
            os.killpg(service.process.pid, 0)  # the whole process group is gone
    assert not _port_open(live.pds.url) and not _port_open(live.plc.url)
