"""Handles both ways, and handle changes: resolveHandle, the DID document's alsoKnownAs, updateHandle.

Spec: https://atproto.com/specs/handle (a handle is valid only when it resolves to the DID *and* the DID
document names it back), https://atproto.com/specs/did §DID Documents (the handle is the first valid
``at://`` entry of ``alsoKnownAs``), and the Lexicons com.atproto.identity.resolveHandle and updateHandle.
Handles under the PDS's own domain are used: the PDS vouches for them itself, so nothing is looked up on a
network. Domain handles proved by DNS TXT or HTTPS well-known, and the refusal of a handle that does not
vouch for the DID, are in ``test_identity_domain_handles.py`` (atcheck's own DNS and HTTPS servers).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    did_document,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    expect_valid,
    fresh_handle,
    lexicon_schema,
)
from atcheck.suite.oracle import is_valid_handle


def _doc_handle(plc: XrpcClient, did: str) -> str:
    """The handle the DID document claims: its first syntactically valid ``at://`` alias."""
    aliases = did_document(plc, did).get("alsoKnownAs")
    if not isinstance(aliases, list):
        raise ConformanceFailure("an alsoKnownAs list in the DID document", aliases)
    for alias in aliases:
        if isinstance(alias, str) and alias.startswith("at://") and is_valid_handle(alias[5:]):
            return alias[5:]
    raise ConformanceFailure("an at://<handle> entry in alsoKnownAs", aliases)


def _resolve(pds: XrpcClient, handle: str) -> XrpcResponse:
    return pds.query("com.atproto.identity.resolveHandle", {"handle": handle})


def _update_handle(account: Account, handle: str) -> XrpcResponse:
    return account.client.procedure("com.atproto.identity.updateHandle", {"handle": handle})


def _domain(target: TargetUnderTest) -> str:
    return target.handle_domain if target.handle_domain.startswith(".") else "." + target.handle_domain


@pytest.mark.requirement("ID-HDL-07", "ID-DOC-02")
@pytest.mark.needs("identity.resolve-handle", "identity.plc")
def test_the_handle_resolves_both_ways(module_account: Account, pds: XrpcClient, plc: XrpcClient) -> None:
    """handle -> DID by resolveHandle, and DID -> the same handle by the document's first at:// alias."""
    resp = _resolve(pds, module_account.handle)
    did = expect_ok(resp).get("did")
    expect_equal(did, module_account.did, "the DID resolveHandle gives for the handle", resp)
    expect_equal(
        _doc_handle(plc, module_account.did).lower(), module_account.handle.lower(), "the DID's handle"
    )


@pytest.mark.requirement("ID-HDL-10", "ID-HDL-07", "ID-DOC-02")
@pytest.mark.needs("identity.update-handle", "identity.resolve-handle", "identity.plc")
def test_update_handle_reaches_the_did_document(
    account: Account, pds: XrpcClient, plc: XrpcClient, target: TargetUnderTest
) -> None:
    """After updateHandle to a free handle of the PDS's domain, the DID document at the PLC names it first
    and resolveHandle gives the DID for it: the new handle is valid both ways."""
    new = fresh_handle(_domain(target))
    expect_status(_update_handle(account, new), 200)
    expect_equal(
        _doc_handle(plc, account.did).lower(), new.lower(), "the DID document's handle after updateHandle"
    )
    resp = _resolve(pds, new)
    expect_equal(
        expect_ok(resp).get("did"), account.did, "the DID resolveHandle gives for the new handle", resp
    )


@pytest.mark.requirement("ID-HDL-08")
@pytest.mark.needs("identity.update-handle", "identity.resolve-handle")
def test_the_old_handle_stops_resolving(account: Account, pds: XrpcClient, target: TargetUnderTest) -> None:
    """Once an account moves to a new handle of the PDS's domain, nothing holds the old one: resolveHandle
    answers the Lexicon's HandleNotFound for it (400, or 404)."""
    old = account.handle
    expect_status(_update_handle(account, fresh_handle(_domain(target))), 200)
    expect_error(_resolve(pds, old), (400, 404), "HandleNotFound")


@pytest.mark.requirement("ID-HDL-10", "SYN-HDL-01", "SYN-HDL-03")
@pytest.mark.needs("identity.update-handle", "xrpc.errors")
@pytest.mark.parametrize(
    "handle",
    ["under_score{domain}", "-leading{domain}", "{long}{domain}", "a..b{domain}", "nodots"],
    ids=["underscore", "leading-hyphen", "label-too-long", "empty-label", "single-label"],
)
def test_update_handle_refuses_invalid_syntax(
    module_account: Account, target: TargetUnderTest, plc: XrpcClient, handle: str
) -> None:
    """An invalid handle is refused with 400 and the DID document keeps the account's handle."""
    value = handle.format(domain=_domain(target), long="x" * 64)
    expect_error(_update_handle(module_account, value), 400)
    expect_equal(
        _doc_handle(plc, module_account.did).lower(), module_account.handle.lower(), "the DID's handle"
    )


@pytest.mark.requirement("ID-HDL-10")
@pytest.mark.needs("identity.update-handle", "xrpc.errors")
def test_update_handle_refuses_a_handle_of_another_account(
    module_account: Account, account_factory: Callable[[], Account], plc: XrpcClient
) -> None:
    """A handle another account holds does not resolve to this DID, so it cannot be this account's."""
    other = account_factory()
    expect_error(_update_handle(module_account, other.handle), 400)
    expect_equal(
        _doc_handle(plc, module_account.did).lower(), module_account.handle.lower(), "the DID's handle"
    )


# -- resolveIdentity and resolveDid (a PDS that implements them itself) --------------------------------------


@pytest.mark.requirement("ID-HDL-09")
@pytest.mark.needs("identity.resolve-identity", "identity.plc")
@pytest.mark.parametrize("by", ["handle", "did"])
def test_resolve_identity_gives_did_handle_and_document(
    module_account: Account, pds: XrpcClient, plc: XrpcClient, by: str
) -> None:
    """By handle or by DID: the Lexicon's output, the account's DID, its verified handle, and the DID
    document the PLC serves."""
    identifier = module_account.handle if by == "handle" else module_account.did
    resp = pds.query("com.atproto.identity.resolveIdentity", {"identifier": identifier})
    got = expect_ok(resp)
    expect_valid(got, lexicon_schema("com.atproto.identity.resolveIdentity", "output"), "its output", resp)
    expect_equal(got.get("did"), module_account.did, "resolveIdentity's did", resp)
    expect_equal(
        str(got.get("handle")).lower(), module_account.handle.lower(), "resolveIdentity's handle", resp
    )
    expect_equal(got.get("didDoc"), did_document(plc, module_account.did), "resolveIdentity's didDoc", resp)


@pytest.mark.requirement("ID-HDL-09")
@pytest.mark.needs("identity.resolve-identity", "identity.plc")
def test_resolve_did_gives_the_document(module_account: Account, pds: XrpcClient, plc: XrpcClient) -> None:
    resp = pds.query("com.atproto.identity.resolveDid", {"did": module_account.did})
    got = expect_ok(resp)
    expect_equal(got.get("didDoc"), did_document(plc, module_account.did), "resolveDid's didDoc", resp)


@pytest.mark.requirement("ID-HDL-09")
@pytest.mark.needs("identity.resolve-identity", "xrpc.errors")
@pytest.mark.parametrize(
    ("nsid", "params", "error"),
    [
        ("com.atproto.identity.resolveIdentity", {"identifier": "nobody-atcheck.test"}, "HandleNotFound"),
        (
            "com.atproto.identity.resolveIdentity",
            {"identifier": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"},
            "DidNotFound",
        ),
        ("com.atproto.identity.resolveDid", {"did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"}, "DidNotFound"),
    ],
    ids=["unknown-handle", "unknown-did", "resolve-did-unknown"],
)
def test_resolving_an_unknown_identity_names_the_error(
    pds: XrpcClient, nsid: str, params: dict[str, str], error: str
) -> None:
    expect_error(pds.query(nsid, params), (400, 404), error)
