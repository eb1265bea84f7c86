"""Domain handles: updateHandle to a handle proved by DNS TXT or by HTTPS well-known, and refused otherwise.

Spec: https://atproto.com/specs/handle §DNS TXT (``_atproto.<handle>`` holding ``did=<DID>``; other TXT values
are ignored; several ``did=`` values with different DIDs make resolution fail), §HTTPS well-known
(``https://<handle>/.well-known/atproto-did`` answering 2xx with the DID; surrounding whitespace is
stripped), and com.atproto.identity.updateHandle (the PDS checks the handle resolves to the account).

atcheck is the handle's DNS and web host: :mod:`atcheck.suite.resolvers` runs a DNS server and an HTTPS
server on 127.0.0.1 with a CA of its own, and points the PDS at them (a target declaring
``identity.local-resolvers``). Each test proves the handle one way only and serves nothing, or a 404, on the
other, so the PDS's answer says which method it used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    did_document,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    skip_under_launcher,
)
from atcheck.suite.oracle import is_valid_handle
from atcheck.suite.resolvers import LocalCa, LocalDns, Served, WellKnownServer, domain_name, pointed_at

# The PDS is the resolver here: a failure is the PDS's (the handle rows apply to resolvers in general).
pytestmark = [
    pytest.mark.needs("identity.update-handle", "identity.local-resolvers", "identity.plc"),
    pytest.mark.role("pds"),
]


@dataclass
class Resolvers:
    """atcheck's DNS and HTTPS servers for one test, and the handle they may vouch for."""

    dns: LocalDns
    web: WellKnownServer
    handle: str

    def txt(self, *values: str) -> None:
        self.dns.txt[f"_atproto.{self.handle}"] = list(values)

    def well_known(self, body: str, status: int = 200) -> None:
        self.web.serve(self.handle, "/.well-known/atproto-did", Served(body.encode(), status=status))


@pytest.fixture
def resolvers(target: TargetUnderTest) -> Iterator[Resolvers]:
    """A fresh domain handle, atcheck's DNS and HTTPS servers, and the PDS pointed at them."""
    skip_under_launcher(
        target, "container", "atcheck's DNS and HTTPS servers listen on this machine's loopback"
    )
    handle = domain_name()
    ca = LocalCa.make()
    with (
        LocalDns() as dns,
        WellKnownServer(ca) as web,
        pointed_at(target, dns=dns, hosts={handle: "127.0.0.1"}, ca=ca),
    ):
        yield Resolvers(dns=dns, web=web, handle=handle)


def _doc_handle(plc: XrpcClient, did: str) -> str | None:
    """The first syntactically valid ``at://`` alias of the DID document, if any."""
    aliases = did_document(plc, did).get("alsoKnownAs")
    if not isinstance(aliases, list):
        raise ConformanceFailure("an alsoKnownAs list in the DID document", aliases)
    for alias in aliases:
        if isinstance(alias, str) and alias.startswith("at://") and is_valid_handle(alias[5:]):
            return alias[5:].lower()
    return None


def _update_and_check(account: Account, pds: XrpcClient, plc: XrpcClient, handle: str) -> None:
    """updateHandle succeeds; the DID document names the handle and resolveHandle gives the DID for it."""
    expect_status(account.client.procedure("com.atproto.identity.updateHandle", {"handle": handle}), 200)
    expect_equal(_doc_handle(plc, account.did), handle, "the DID document's handle after updateHandle")
    resp = pds.query("com.atproto.identity.resolveHandle", {"handle": handle})
    expect_equal(
        expect_ok(resp).get("did"), account.did, "the DID resolveHandle gives for the domain handle", resp
    )


def _expect_refused(account: Account, plc: XrpcClient, handle: str, why: str) -> None:
    """updateHandle answers 400 and the DID document keeps the account's handle."""
    resp = account.client.procedure("com.atproto.identity.updateHandle", {"handle": handle})
    expect_error(resp, 400)
    expect_equal(_doc_handle(plc, account.did), account.handle.lower(), f"the DID's handle ({why})")


@pytest.mark.requirement("ID-HDL-01", "ID-HDL-10", "ID-HDL-07")
def test_a_handle_proved_by_dns_txt_is_taken(
    account: Account, pds: XrpcClient, plc: XrpcClient, resolvers: Resolvers
) -> None:
    """``_atproto.<handle>`` holds ``did=<DID>`` beside a value without the prefix (ignored); the well-known
    URL answers 404. updateHandle must accept the handle, and the PDS must have asked atcheck's DNS."""
    resolvers.txt("v=atcheck unrelated text", f"did={account.did}")
    _update_and_check(account, pds, plc, resolvers.handle)
    expect(
        (f"_atproto.{resolvers.handle}", "TXT") in resolvers.dns.queries,
        f"a TXT query for _atproto.{resolvers.handle} at atcheck's DNS server",
        resolvers.dns.queries,
    )


@pytest.mark.requirement("ID-HDL-03", "ID-HDL-10", "ID-HDL-07")
def test_a_handle_proved_by_https_well_known_is_taken(
    account: Account, pds: XrpcClient, plc: XrpcClient, resolvers: Resolvers
) -> None:
    """No TXT record (NXDOMAIN); ``https://<handle>/.well-known/atproto-did`` answers the DID with
    surrounding whitespace and a Content-Type of text/plain. updateHandle must accept the handle."""
    resolvers.well_known(f"  {account.did}  \n")
    _update_and_check(account, pds, plc, resolvers.handle)
    expect(
        (resolvers.handle, "/.well-known/atproto-did") in resolvers.web.requests,
        f"a GET of https://{resolvers.handle}/.well-known/atproto-did at atcheck's HTTPS server",
        resolvers.web.requests,
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("nothing", marks=pytest.mark.requirement("ID-HDL-10")),
        pytest.param("other-did", marks=pytest.mark.requirement("ID-HDL-10", "ID-HDL-07")),
        pytest.param("txt-without-prefix", marks=pytest.mark.requirement("ID-HDL-01")),
        pytest.param("well-known-error-status", marks=pytest.mark.requirement("ID-HDL-03")),
    ],
)
def test_a_handle_nothing_proves_is_refused(
    account: Account,
    plc: XrpcClient,
    resolvers: Resolvers,
    case: str,
) -> None:
    """The handle does not resolve to this account: no record at all, a TXT record and a well-known body
    naming another DID, a TXT value without ``did=``, or the DID as the body of a 404 (handle §HTTPS
    well-known: "A valid HTTP response will have an HTTP success status (2xx)"). updateHandle must refuse."""
    other = "did:plc:" + "a" * 24
    if case == "other-did":
        resolvers.txt(f"did={other}")
        resolvers.well_known(other)
    elif case == "txt-without-prefix":
        resolvers.txt(account.did)
    elif case == "well-known-error-status":
        resolvers.well_known(account.did, status=404)
    _expect_refused(account, plc, resolvers.handle, case)


@pytest.mark.requirement("ID-HDL-02")
def test_several_did_txt_values_make_resolution_fail(
    account: Account, plc: XrpcClient, resolvers: Resolvers
) -> None:
    """Two ``did=`` TXT values with different DIDs, one of them the account's: resolution must fail (SHOULD),
    so updateHandle refuses the handle."""
    resolvers.txt(f"did={account.did}", "did=did:plc:" + "b" * 24)
    _expect_refused(account, plc, resolvers.handle, "two did= TXT values")
