"""did:web accounts: a PDS takes an account whose DID is a did:web served by atcheck, and reads its key there.

Spec: https://atproto.com/specs/did §did:web (``did:web:<host>`` resolves through
``https://<host>/.well-known/did.json``, hostname level only), §DID Documents (the signing key is the first
verification method whose id ends ``#atproto``; others are ignored), and the account flow of
https://atproto.com/specs/account (createAccount with an existing DID, proved by a service-auth token signed
by the DID's key; getRecommendedDidCredentials; the owner updates the document; activateAccount).

atcheck owns the did:web: it makes the key, serves the document from its HTTPS server on 127.0.0.1:443
(:mod:`atcheck.suite.resolvers`, for a target declaring ``identity.local-resolvers``), and the handle is the
did:web's own host, proved by ``/.well-known/atproto-did`` on the same server.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from atcheck.suite import (
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    oracle_verdict,
    skip_under_launcher,
)
from atcheck.suite.didweb import DidWeb, PrivateKey, did_web_document, service_auth_token
from atcheck.suite.oracle import parse_did_key, verify_repo_car
from atcheck.suite.resolvers import LocalCa, Served, WellKnownServer, domain_name, pointed_at

pytestmark = [
    pytest.mark.needs("account.create", "identity.local-resolvers", "sync.get-repo"),
    pytest.mark.role("pds"),
]

CREATE = "com.atproto.server.createAccount"


@dataclass
class WebHost:
    """atcheck's HTTPS server, the did:web it serves, and the PDS's service DID (the tokens' ``aud``)."""

    web: WellKnownServer
    ident: DidWeb
    pds_did: str
    pds_url: str
    documents: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, doc: dict[str, Any]) -> None:
        """Serve ``doc`` as the did:web's document (what its owner does to update it)."""
        self.documents.append(doc)
        self.web.serve(
            self.ident.host,
            "/.well-known/did.json",
            Served(json.dumps(doc).encode(), content_type="application/did+json"),
        )

    def token(self, key: PrivateKey) -> str:
        return service_auth_token(key, iss=self.ident.did, aud=self.pds_did, lxm=CREATE)


@pytest.fixture
def web_host(target: TargetUnderTest) -> Iterator[WebHost]:
    """A fresh did:web under atcheck's zone, its handle proved by well-known, the PDS pointed at it all."""
    skip_under_launcher(target, "container", "atcheck's HTTPS server listens on this machine's loopback")
    endpoint = target.endpoint("pds")
    if not endpoint.did:
        pytest.skip(f"target {target.name} names no service DID for its PDS (service-auth aud)")
    ident = DidWeb(host=domain_name("w"), key=PrivateKey.generate("k256"))
    ca = LocalCa.make()
    with WellKnownServer(ca) as web, pointed_at(target, hosts={ident.host: "127.0.0.1"}, ca=ca):
        web.serve(ident.host, "/.well-known/atproto-did", Served(f"{ident.did}\n".encode()))
        yield WebHost(web=web, ident=ident, pds_did=endpoint.did, pds_url=endpoint.url)


def _create(pds: XrpcClient, host: WebHost, token: str) -> XrpcResponse:
    body = {
        "did": host.ident.did,
        "handle": host.ident.host,
        "email": f"{host.ident.host.split('.')[0]}@example.test",
        "password": secrets.token_urlsafe(18),
    }
    return pds.procedure(CREATE, body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.requirement("ID-WEB-01", "ID-DOC-04")
def test_a_did_web_account_is_created_activated_and_signed_with_its_documents_key(
    pds: XrpcClient, web_host: WebHost
) -> None:
    """createAccount with the did:web (its own token), the document updated with the PDS's recommended key
    and endpoint, activateAccount; then a write, and getRepo verifies with the key of the served document."""
    ident = web_host.ident
    web_host.publish(
        did_web_document(
            ident.did,
            handle=ident.host,
            pds=web_host.pds_url,
            keys=[("atproto", ident.key.public.multikey)],
        )
    )
    resp = _create(pds, web_host, web_host.token(ident.key))
    created = expect_ok(resp)
    expect_equal(created.get("did"), ident.did, "the DID createAccount answers", resp)
    expect(
        (ident.host, "/.well-known/did.json") in web_host.web.requests,
        f"a GET of https://{ident.host}/.well-known/did.json (the PDS resolving the did:web)",
        web_host.web.requests,
        resp,
    )
    user = pds.with_token(str(created.get("accessJwt")))
    rec_resp = user.query("com.atproto.identity.getRecommendedDidCredentials")
    recommended = expect_ok(rec_resp)
    atproto_key = (recommended.get("verificationMethods") or {}).get("atproto")
    endpoint = ((recommended.get("services") or {}).get("atproto_pds") or {}).get("endpoint")
    expect(
        isinstance(atproto_key, str) and isinstance(endpoint, str),
        "verificationMethods.atproto and services.atproto_pds.endpoint",
        recommended,
        rec_resp,
    )
    with oracle_verdict("a did:key as the recommended #atproto key", rec_resp):
        pds_key = parse_did_key(str(atproto_key))
    web_host.publish(
        did_web_document(
            ident.did, handle=ident.host, pds=str(endpoint), keys=[("atproto", pds_key.multikey)]
        )
    )
    expect_status(user.procedure("com.atproto.server.activateAccount"), 200)
    expect_ok(
        user.procedure(
            "com.atproto.repo.createRecord",
            {
                "repo": ident.did,
                "collection": "com.example.atcheck.didweb",
                "record": {"$type": "com.example.atcheck.didweb", "text": "hello from a did:web"},
            },
        )
    )
    repo = pds.get("/xrpc/com.atproto.sync.getRepo", {"did": ident.did})
    expect_status(repo, 200)
    with oracle_verdict("a repo signed with the did:web document's #atproto key", repo):
        verified = verify_repo_car(repo.content, did=ident.did, signing_key=pds_key)
    expect(verified.commit.signature_verified, "a verified commit signature", verified.commit, repo)
    resolved = pds.query("com.atproto.identity.resolveHandle", {"handle": ident.host})
    expect_equal(expect_ok(resolved).get("did"), ident.did, "the DID of the did:web's handle", resolved)


@pytest.mark.requirement("ID-DOC-03")
@pytest.mark.parametrize("signer", ["other-fragment", "second-atproto"])
def test_only_the_first_atproto_key_proves_the_did(pds: XrpcClient, web_host: WebHost, signer: str) -> None:
    """The document lists ``#other`` (key B), then ``#atproto`` (key A), then ``#atproto`` again (key C). A
    token signed by B or C must be refused; the same request signed by A must then be accepted, so the key
    was the only thing wrong."""
    ident = web_host.ident
    other, later = PrivateKey.generate("k256"), PrivateKey.generate("k256")
    web_host.publish(
        did_web_document(
            ident.did,
            handle=ident.host,
            pds=web_host.pds_url,
            keys=[
                ("other", other.public.multikey),
                ("atproto", ident.key.public.multikey),
                ("atproto", later.public.multikey),
            ],
        )
    )
    wrong = other if signer == "other-fragment" else later
    expect_error(_create(pds, web_host, web_host.token(wrong)), (400, 401, 403))
    expect_ok(_create(pds, web_host, web_host.token(ident.key)))
