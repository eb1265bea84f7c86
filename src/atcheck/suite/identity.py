"""An account's identity as the network sees it: its DID document at the run's PLC, and its signing key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from atcheck.checks import ConformanceFailure, expect, expect_status
from atcheck.oracle import did as did_oracle
from atcheck.oracle.crypto import PublicKey
from atcheck.suite.verdicts import oracle_verdict
from atcheck.xrpc.client import XrpcClient

__all__ = ["DID_DOC_TYPES", "atproto_key", "did_document", "document_entry", "xrpc_origin"]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

#: What a PLC may label a DID document with; each is JSON.
DID_DOC_TYPES = frozenset({"application/did+ld+json", "application/did+json", "application/json"})


def did_document(plc: XrpcClient, did: str) -> dict[str, Any]:
    """Resolve a did:plc at the PLC directory: ``GET /<did>`` must give the DID document, as JSON."""
    expect(did.startswith("did:plc:"), "a did:plc (the target declares identity.plc)", did)
    resp = plc.get(f"/{did}")
    expect_status(resp, 200)
    expect(
        resp.content_type in DID_DOC_TYPES,
        f"Content-Type one of {sorted(DID_DOC_TYPES)}",
        resp.content_type,
        resp,
    )
    doc = resp.json()
    if not isinstance(doc, dict):
        raise ConformanceFailure("a DID document (a JSON object)", doc, resp)
    return doc


def document_entry(doc: dict[str, Any], field: str, did: str, fragment: str) -> dict[str, Any]:
    """The first ``field`` entry of the document whose id is ``#fragment`` or ``<did>#fragment``."""
    with oracle_verdict(f"a {field} entry with id #{fragment} in the DID document"):
        return did_oracle.document_entry(doc, field, did, fragment)


def atproto_key(doc: dict[str, Any], did: str) -> PublicKey:
    """The ``#atproto`` public key of a DID document: the key the account's commits must be signed with.

    Legacy key types are read too (did §Legacy Representation lets consumers accept them): here the key is
    only a means to verify signatures; whether the document uses the current form is the identity suite's
    business.
    """
    with oracle_verdict("a k256 or p256 public key on the DID document's #atproto verification method"):
        return did_oracle.signing_key(doc, did)


def xrpc_origin(service: dict[str, Any], reached_at: str) -> str:
    """Where a client calls ``/xrpc/<NSID>`` for a DID document's ``service`` entry: the endpoint's origin.

    XRPC paths are top-level (xrpc §Lexicon HTTP Endpoints), so an endpoint that carries a path, query or
    fragment is a failure: a client would have to call below a prefix. A loopback host name (``localhost``,
    as development servers publish themselves) is replaced by the loopback address the run reaches the
    service at (``reached_at``), so the call does not depend on how this machine resolves ``localhost``;
    the scheme and port are the document's own.
    """
    endpoint = service.get("serviceEndpoint")
    if not isinstance(endpoint, str):
        raise ConformanceFailure("a serviceEndpoint URL string", service)
    parts = urlsplit(endpoint)
    expect(
        parts.scheme in ("http", "https") and bool(parts.hostname),
        "an http(s) serviceEndpoint URL with a host",
        endpoint,
    )
    expect(
        parts.path in ("", "/") and not parts.query and not parts.fragment,
        "a bare origin (no path, query or fragment): XRPC lives at /xrpc/<NSID> at the host root",
        endpoint,
    )
    host = parts.hostname or ""
    run = urlsplit(reached_at)
    if host in _LOOPBACK_NAMES and run.hostname in _LOOPBACK_NAMES:
        host = run.hostname
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}"
