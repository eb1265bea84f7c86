"""Identity of PDS accounts: the did:plc document at the run's PLC, and handle resolution at the PDS.

Spec: https://atproto.com/specs/did (DID Documents), https://atproto.com/specs/handle and the
com.atproto.identity Lexicons. The DID document is read from the PLC directory, not from the PDS, because that
is what every other service in the network will see: a PDS that registers the wrong key, endpoint or handle
breaks its users' identities even if its own API looks fine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    document_entry,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_valid,
    lexicon_schema,
    oracle_verdict,
)
from atcheck.suite.oracle import is_valid_handle, parse_did_key, parse_multikey
from atcheck.suite.plc import is_plc_did

DidDocument = Callable[[str], dict[str, Any]]
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@pytest.mark.requirement("ID-DOC-01")
@pytest.mark.needs("identity.plc")
def test_did_document_id_is_the_did(module_account: Account, did_document: DidDocument) -> None:
    expect_equal(did_document(module_account.did).get("id"), module_account.did, "the DID document's id")


@pytest.mark.requirement("ID-DOC-02", "ID-DOC-06")
@pytest.mark.needs("identity.plc")
def test_did_document_names_the_handle_first(module_account: Account, did_document: DidDocument) -> None:
    """The first valid ``at://`` alias is the account's handle (handles compare case-insensitively)."""
    aliases = did_document(module_account.did).get("alsoKnownAs")
    if not isinstance(aliases, list):
        raise ConformanceFailure("an alsoKnownAs list in the DID document", aliases)
    handles = [
        a[len("at://") :]
        for a in aliases
        if isinstance(a, str) and a.startswith("at://") and is_valid_handle(a[len("at://") :])
    ]
    expect(bool(handles), "an at://<handle> entry in alsoKnownAs", aliases)
    expect_equal(handles[0].lower(), module_account.handle.lower(), "the first at:// handle in alsoKnownAs")


@pytest.mark.requirement("ID-DOC-06")
@pytest.mark.needs("identity.plc")
def test_plc_data_registers_an_atproto_did_key(module_account: Account, plc: XrpcClient) -> None:
    """What the PDS registered (the PLC's ``/<did>/data``): an ``atproto`` did:key of a k256 or p256 key."""
    resp = plc.get(f"/{module_account.did}/data")
    data = resp.json() if resp.status == 200 else None
    if not isinstance(data, dict):
        raise ConformanceFailure("the DID's current PLC data (a JSON object)", resp.text[:300], resp)
    methods = data.get("verificationMethods")
    key = methods.get("atproto") if isinstance(methods, dict) else None
    if not isinstance(key, str):
        raise ConformanceFailure("verificationMethods.atproto (a did:key) in the PLC data", data, resp)
    with oracle_verdict("a did:key for a k256 or p256 public key"):
        parse_did_key(key)


@pytest.mark.requirement("ID-PLC-12")
@pytest.mark.role("plc")
@pytest.mark.needs("identity.plc")
def test_did_document_has_an_atproto_multikey(module_account: Account, did_document: DidDocument) -> None:
    """``#atproto`` is rendered as type Multikey, controlled by the DID, with the key in Multikey form.

    This checks the rendering by the run's PLC directory of what the PDS registered: a verdict on the PLC,
    charged to the PLC, and skipped on a target that uses another target's PLC. (How a consumer picks the
    signing key, ID-DOC-03, is not what this exercises.)
    """
    did = module_account.did
    method = document_entry(did_document(did), "verificationMethod", did, "atproto")
    expect_equal(method.get("type"), "Multikey", "the #atproto key's type")
    expect_equal(method.get("controller"), did, "the #atproto key's controller")
    key = method.get("publicKeyMultibase")
    if not isinstance(key, str):
        raise ConformanceFailure("a publicKeyMultibase string on #atproto", method)
    with oracle_verdict("a Multikey for a k256 or p256 public key"):
        parse_multikey(key)


@pytest.mark.requirement("ID-DOC-04", "ID-DOC-06")
@pytest.mark.needs("identity.plc")
def test_did_document_points_at_this_pds(
    module_account: Account, did_document: DidDocument, target: TargetUnderTest
) -> None:
    """``#atproto_pds``: type AtprotoPersonalDataServer, endpoint = scheme://host[:port] of this PDS."""
    did = module_account.did
    service = document_entry(did_document(did), "service", did, "atproto_pds")
    expect_equal(service.get("type"), "AtprotoPersonalDataServer", "the #atproto_pds service type")
    endpoint = service.get("serviceEndpoint")
    if not isinstance(endpoint, str):
        raise ConformanceFailure("a serviceEndpoint URL string on #atproto_pds", service)
    got = urlsplit(endpoint)
    expect(
        got.scheme in ("http", "https") and bool(got.hostname) and got.path in ("", "/") and not got.query,
        "an http(s) URL with scheme, host and optional port only",
        endpoint,
    )
    pds = urlsplit(target.endpoint("pds").url)
    # The run reaches the PDS on a loopback address; the PDS may publish itself as localhost or 127.0.0.1.
    same_host = got.hostname == pds.hostname or {got.hostname, pds.hostname} <= _LOOPBACK
    expect(
        same_host and got.port == pds.port,
        f"the endpoint of the PDS that hosts the account ({target.endpoint('pds').url}, any loopback name)",
        endpoint,
    )


# -- handle resolution at the PDS --------------------------------------------------------------------------


@pytest.mark.requirement("ID-HDL-08", "XRPC-HTTP-08")
@pytest.mark.needs("identity.resolve-handle")
def test_resolve_handle_gives_the_accounts_did(pds: XrpcClient, module_account: Account) -> None:
    resp = pds.query("com.atproto.identity.resolveHandle", {"handle": module_account.handle})
    got = expect_ok(resp)
    expect_valid(
        got, lexicon_schema("com.atproto.identity.resolveHandle", "output"), "resolveHandle output", resp
    )
    expect_equal(
        got.get("did"), module_account.did, "the DID resolveHandle gives for the account's handle", resp
    )


@pytest.mark.requirement("SYN-HDL-04")
@pytest.mark.needs("identity.resolve-handle")
def test_resolve_handle_is_case_insensitive(pds: XrpcClient, module_account: Account) -> None:
    resp = pds.query("com.atproto.identity.resolveHandle", {"handle": module_account.handle.upper()})
    expect_equal(expect_ok(resp).get("did"), module_account.did, "the DID for the upper-cased handle", resp)


@pytest.mark.requirement("XRPC-HTTP-05", "ID-HDL-08")
@pytest.mark.needs("identity.resolve-handle", "xrpc.errors")
@pytest.mark.parametrize("handle", ["not a handle", "@at.prefixed.test", "1.2.3.4"])
def test_resolve_handle_refuses_invalid_syntax(pds: XrpcClient, handle: str) -> None:
    """Syntax is checked before any resolution (so nothing is looked up for these)."""
    expect_error(pds.query("com.atproto.identity.resolveHandle", {"handle": handle}), 400, "InvalidRequest")


@pytest.mark.requirement("SYN-DID-08")
@pytest.mark.role("pds")
@pytest.mark.needs("identity.plc")
def test_the_dids_a_pds_mints_have_the_plc_form(account: Account, pds: XrpcClient) -> None:
    """did-plc §Identifier Syntax: "The identifier part is 24 characters long, including only characters
    from the `base32` encoding set", so "the overall identifier length is 32 characters" and "the entire
    identifier is lower-case". The DID of an account made now, and every did:plc the PDS lists in
    ``com.atproto.sync.listRepos`` (the accounts it minted during the run), have that form."""
    expect(is_plc_did(account.did), "a new account's DID of the form did:plc:[a-z2-7]{24}", account.did)
    wrong: list[str] = []
    cursor: str | None = None
    for _ in range(50):  # a bound on pages of 1000, far above what a run creates
        resp = pds.query("com.atproto.sync.listRepos", {"limit": 1000, "cursor": cursor})
        page = expect_ok(resp)
        repos = page.get("repos") if isinstance(page, dict) else None
        if not isinstance(repos, list):
            raise ConformanceFailure("listRepos output with a repos list", page, resp)
        dids = [r.get("did") for r in repos if isinstance(r, dict)]
        wrong += [
            str(d) for d in dids if isinstance(d, str) and d.startswith("did:plc:") and not is_plc_did(d)
        ]
        cursor = page.get("cursor")
        if not cursor or not repos:
            break
    expect(not wrong, "every did:plc listed by listRepos of the form did:plc:[a-z2-7]{24}", wrong[:20])
