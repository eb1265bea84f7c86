"""The labeler's service identity (label §Labeler Service Identity): its DID document at the run's PLC.

A labeler's DID document carries the key its labels are signed with (``#atproto_label``) and where it is
served (``#atproto_labeler``, type ``AtprotoLabeler``, an origin URL without a path). Whether the key is
rendered as a Multikey or a legacy type is the PLC's doing, judged by the identity suite; here the key must
only be a k256 or p256 public key.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from atcheck.suite import (
    ConformanceFailure,
    XrpcClient,
    document_entry,
    expect,
    expect_equal,
    expect_ok,
    xrpc_origin,
)
from atcheck.suite.labels import Labeler, label_key

#: Every test here checks the labeler (some of their IDs also apply to PDSes and relays).
pytestmark = pytest.mark.role("labeler")


@pytest.mark.requirement("LBL-DID-01")
@pytest.mark.needs("identity.plc", "label.query")
def test_the_document_has_an_atproto_label_key(labeler: Labeler, labeler_document: dict[str, Any]) -> None:
    key = label_key(labeler_document, labeler.did)
    expect(key.curve in ("k256", "p256"), "a k256 or p256 #atproto_label key", key.curve)


@pytest.mark.requirement("LBL-DID-01")
@pytest.mark.needs("identity.plc", "label.query")
def test_the_document_names_the_labeler_service(labeler: Labeler, labeler_document: dict[str, Any]) -> None:
    """``#atproto_labeler`` is of type ``AtprotoLabeler`` and its endpoint is this labeler's origin.

    The host may be a name or the loopback address the labeler listens on; the port must be its port, and
    there is no path, query or fragment (label §Labeler Service Identity).
    """
    service = document_entry(labeler_document, "service", labeler.did, "atproto_labeler")
    expect_equal(service.get("type"), "AtprotoLabeler", "the #atproto_labeler service's type")
    endpoint = service.get("serviceEndpoint")
    if not isinstance(endpoint, str):
        raise ConformanceFailure("a serviceEndpoint URL string", endpoint)
    parts = urlsplit(endpoint)
    expect(
        parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/"),
        "an origin URL: scheme, host and optional port, no path",
        endpoint,
    )
    expect(not parts.query and not parts.fragment, "no query or fragment in the endpoint", endpoint)
    expect_equal(parts.port, urlsplit(labeler.url).port, f"the endpoint's port ({endpoint})")


@pytest.mark.requirement("XRPC-HTTP-01")
@pytest.mark.needs("identity.plc", "label.query")
def test_xrpc_answers_at_the_root_of_the_labeler_endpoint(
    labeler: Labeler, labeler_document: dict[str, Any]
) -> None:
    """xrpc §Lexicon HTTP Endpoints: "The HTTP request path starts with `/xrpc/`, followed by an NSID.
    Paths must always be top-level, not below a prefix."

    The network finds the labeler at its DID document's ``#atproto_labeler`` endpoint: queryLabels must
    answer at that origin's ``/xrpc/`` (a JSON object with a ``labels`` list).
    """
    service = document_entry(labeler_document, "service", labeler.did, "atproto_labeler")
    origin = xrpc_origin(service, labeler.url)
    root = XrpcClient(origin, recorder=labeler.target.recorder)
    try:
        resp = root.query("com.atproto.label.queryLabels", {"uriPatterns": ["*"], "limit": 1})
    finally:
        root.close()
    body = expect_ok(resp)
    expect(
        isinstance(body, dict) and isinstance(body.get("labels"), list),
        f"queryLabels answered at {origin}/xrpc/ (a JSON object with a labels list)",
        body,
        resp,
    )
