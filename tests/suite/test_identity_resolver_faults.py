"""The domain-handle and did:web checks catch a PDS that takes unproven handles, or misreads a did:web's keys.

A real reference PDS is reached through a proxy that plants one fault; atcheck's DNS and HTTPS servers run as
in the suite. Each suite test runs through a faithful proxy (it must pass, so it is not simply always
failing) and with its fault (it must fail with a conformance failure):

- ``accepts-unproven``: updateHandle to a handle of atcheck's zone answers 200 without checking it;
- ``refuses-domain-handles``: updateHandle to such a handle answers 400 whatever proves it;
- ``any-key``: createAccount with a did:web answers 200 whatever key signed the token.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from atcheck.accounts import Account, AccountFactory
from atcheck.checks import ConformanceFailure
from atcheck.suite.resolvers import ZONE, LocalCa, LocalDns, Served, WellKnownServer, domain_name, pointed_at
from atcheck.suite.target import TargetUnderTest
from atcheck.targets.model import Role
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient

FAKES = Path(__file__).resolve().parents[1] / "fakes"
SUITES = Path(__file__).resolve().parents[2] / "suites" / "identity"

Fault = Callable[[str, str, dict[str, str], bytes], tuple[int, Any] | None]


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
handles = _load("selftest_identity_domain_handles", SUITES / "test_identity_domain_handles.py")
did_web = _load("selftest_identity_did_web", SUITES / "test_identity_did_web.py")


def _zone_handle_update(method: str, path: str, body: bytes) -> bool:
    if method != "POST" or not path.startswith("/xrpc/com.atproto.identity.updateHandle"):
        return False
    return str(json.loads(body).get("handle", "")).endswith("." + ZONE)


def accepts_unproven(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any] | None:
    return (200, {}) if _zone_handle_update(method, path, body) else None


def refuses_domain_handles(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, Any] | None:
    if _zone_handle_update(method, path, body):
        return 400, {"error": "InvalidRequest", "message": "External handle did not resolve to DID"}
    return None


def any_key(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any] | None:
    if method != "POST" or not path.startswith("/xrpc/com.atproto.server.createAccount"):
        return None
    sent = json.loads(body)
    if not str(sent.get("did", "")).startswith("did:web:"):
        return None
    return 200, {"did": sent["did"], "handle": sent["handle"], "accessJwt": "a.b.c", "refreshJwt": "a.b.c"}


@pytest.fixture(scope="module")
def reference(reference_stack: tuple[Stack, RunningTarget]) -> tuple[TargetUnderTest, AccountFactory]:
    _, running = reference_stack
    target = TargetUnderTest("reference", running.manifest, running, EvidenceRecorder())
    pds = running.endpoint(Role.PDS)
    assert pds is not None
    return target, AccountFactory(pds, target.client(), provisioning="xrpc", handle_domain=".test")


def _through(target: TargetUnderTest, fault: Fault | None, stack: ExitStack) -> TargetUnderTest:
    """The target with its XRPC traffic (and /atcheck/resolvers) through a proxy planting ``fault``."""
    proxy = proxy_module.FaultProxy(target.endpoint(Role.PDS).url, fault)
    stack.callback(proxy.close)
    through = TargetUnderTest(target.name, target.manifest, target.running, target.recorder)
    through._clients[Role.PDS] = XrpcClient(proxy.url, recorder=target.recorder)
    through._clients[Role.PLC] = target.client(Role.PLC)
    return through


def _via(account: Account, through: TargetUnderTest) -> Account:
    """The account, its own requests (updateHandle) sent through the proxy too."""
    return replace(account, client=through.client().with_token(account.access_jwt))


@pytest.fixture
def exits() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.mark.parametrize("faulty", [False, True], ids=["faithful", "accepts-unproven"])
def test_a_pds_that_takes_an_unproven_handle_fails(
    reference: tuple[TargetUnderTest, AccountFactory], exits: ExitStack, faulty: bool
) -> None:
    target, factory = reference
    through = _through(target, accepts_unproven if faulty else None, exits)
    handle = domain_name()
    ca = LocalCa.make()
    dns = exits.enter_context(LocalDns())
    web = exits.enter_context(WellKnownServer(ca))
    exits.enter_context(pointed_at(through, dns=dns, hosts={handle: "127.0.0.1"}, ca=ca))
    resolvers = handles.Resolvers(dns=dns, web=web, handle=handle)
    account = _via(factory(), through)
    run = handles.test_a_handle_nothing_proves_is_refused
    if not faulty:
        run(account, through.client(Role.PLC), resolvers, "other-did")
        return
    with pytest.raises(ConformanceFailure):
        run(account, through.client(Role.PLC), resolvers, "other-did")


@pytest.mark.parametrize("faulty", [False, True], ids=["faithful", "refuses-domain-handles"])
def test_a_pds_that_ignores_a_dns_proof_fails(
    reference: tuple[TargetUnderTest, AccountFactory], exits: ExitStack, faulty: bool
) -> None:
    target, factory = reference
    through = _through(target, refuses_domain_handles if faulty else None, exits)
    handle = domain_name()
    ca = LocalCa.make()
    dns = exits.enter_context(LocalDns())
    web = exits.enter_context(WellKnownServer(ca))
    exits.enter_context(pointed_at(through, dns=dns, hosts={handle: "127.0.0.1"}, ca=ca))
    resolvers = handles.Resolvers(dns=dns, web=web, handle=handle)
    account = _via(factory(), through)
    run = handles.test_a_handle_proved_by_dns_txt_is_taken
    if not faulty:
        run(account, through.client(), through.client(Role.PLC), resolvers)
        return
    with pytest.raises(ConformanceFailure):
        run(account, through.client(), through.client(Role.PLC), resolvers)


@pytest.mark.parametrize("faulty", [False, True], ids=["faithful", "any-key"])
def test_a_pds_that_takes_a_did_web_token_by_any_key_fails(
    reference: tuple[TargetUnderTest, AccountFactory], exits: ExitStack, faulty: bool
) -> None:
    target, _ = reference
    through = _through(target, any_key if faulty else None, exits)
    endpoint = target.endpoint(Role.PDS)
    assert endpoint.did
    ident = did_web.DidWeb(host=domain_name("w"), key=did_web.PrivateKey.generate("k256"))
    ca = LocalCa.make()
    web = exits.enter_context(WellKnownServer(ca))
    exits.enter_context(pointed_at(through, hosts={ident.host: "127.0.0.1"}, ca=ca))
    web.serve(ident.host, "/.well-known/atproto-did", Served(f"{ident.did}\n".encode()))
    host = did_web.WebHost(web=web, ident=ident, pds_did=endpoint.did, pds_url=endpoint.url)
    run = did_web.test_only_the_first_atproto_key_proves_the_did
    if not faulty:
        run(through.client(), host, "other-fragment")
        return
    with pytest.raises(ConformanceFailure):
        run(through.client(), host, "other-fragment")
