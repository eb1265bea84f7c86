"""The migration suite catches a destination PDS that loses a blob, or that accepts an expired service token.

A real reference PDS and its second instance (on one PLC) are stood up; the second is reached through a proxy
that plants one fault. Each suite test runs twice: through a faithful proxy (it must pass, so it is not simply
always failing) and with its fault (it must fail with a conformance failure).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from atcheck.accounts import AccountFactory
from atcheck.checks import ConformanceFailure
from atcheck.oracle.cid import RAW, compute_cid
from atcheck.suite.target import TargetUnderTest
from atcheck.targets.model import Role
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient

FAKES = Path(__file__).resolve().parents[1] / "fakes"
SUITE = Path(__file__).resolve().parents[2] / "suites" / "migration" / "test_migration.py"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


proxy_module = _load("selftest_http_fault_proxy", FAKES / "http_fault_proxy.py")
suite = _load("selftest_migration_suite", SUITE)


def drops_blobs(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any] | None:
    """uploadBlob answers success with the right ref, and keeps nothing."""
    if method == "POST" and path.startswith("/xrpc/com.atproto.repo.uploadBlob"):
        ref = {"$link": str(compute_cid(body, RAW))}
        mime = headers.get("content-type", "application/octet-stream")
        return 200, {"blob": {"$type": "blob", "ref": ref, "mimeType": mime, "size": len(body)}}
    return None


def accepts_expired_tokens(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, Any] | None:
    """createAccount with an expired bearer token is answered as a success."""
    if method != "POST" or not path.startswith("/xrpc/com.atproto.server.createAccount"):
        return None
    token = headers.get("authorization", "").removeprefix("Bearer ")
    try:
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    except (IndexError, ValueError):
        return None
    if not isinstance(claims, dict) or claims.get("exp", time.time() + 1) >= time.time():
        return None
    sent = json.loads(body)
    return 200, {"did": sent["did"], "handle": sent["handle"], "accessJwt": "a.b.c", "refreshJwt": "a.b.c"}


@dataclass
class Pair:
    source: TargetUnderTest
    twin: TargetUnderTest
    factory: AccountFactory


@pytest.fixture(scope="module")
def pair(reference_stack: tuple[Stack, RunningTarget]) -> Pair:
    stack, running = reference_stack
    twin_running = stack.start_instance("reference")
    recorder = EvidenceRecorder()
    source = TargetUnderTest("reference", running.manifest, running, recorder)
    twin = TargetUnderTest(twin_running.name, twin_running.manifest, twin_running, recorder)
    pds = running.endpoint(Role.PDS)
    assert pds is not None
    factory = AccountFactory(pds, source.client(), provisioning="xrpc", handle_domain=".test")
    return Pair(source, twin, factory)


def behind_proxy(twin: TargetUnderTest, proxy_url: str) -> TargetUnderTest:
    """The twin, its XRPC traffic through the proxy (its firehose, which the proxy does not carry, direct)."""
    through = TargetUnderTest(twin.name, twin.manifest, twin.running, twin.recorder)
    through._clients[Role.PDS] = XrpcClient(proxy_url, recorder=twin.recorder)
    return through


@pytest.mark.parametrize("faulty", [False, True], ids=["faithful", "drops-blobs"])
def test_a_destination_that_loses_a_blob_fails(pair: Pair, faulty: bool) -> None:
    proxy = proxy_module.FaultProxy(pair.twin.endpoint(Role.PDS).url, drops_blobs if faulty else None)
    try:
        moved = suite.move_account(pair.factory(), pair.source, behind_proxy(pair.twin, proxy.url))
        if not faulty:
            suite.test_every_blob_arrives_with_the_same_bytes(moved)
            return
        assert proxy.faults_applied >= 1
        with pytest.raises(ConformanceFailure):
            suite.test_every_blob_arrives_with_the_same_bytes(moved)
    finally:
        proxy.close()


@pytest.mark.parametrize("faulty", [False, True], ids=["faithful", "accepts-expired"])
def test_a_destination_that_accepts_an_expired_service_token_fails(pair: Pair, faulty: bool) -> None:
    proxy = proxy_module.FaultProxy(
        pair.twin.endpoint(Role.PDS).url, accepts_expired_tokens if faulty else None
    )
    try:
        run = suite.test_create_account_with_an_existing_did_needs_valid_service_auth
        twin = behind_proxy(pair.twin, proxy.url)
        if not faulty:
            run(pair.factory, twin, "expired")
            return
        with pytest.raises(ConformanceFailure):
            run(pair.factory, twin, "expired")
        assert proxy.faults_applied == 1
    finally:
        proxy.close()
