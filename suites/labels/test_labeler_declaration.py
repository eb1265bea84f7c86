"""The labeler's declaration record, ``app.bsky.labeler.service/self`` (label §Labeler Service Identity).

A labeler whose DID is an account publishes, in its own repository, the record that tells clients which label
values it issues: ``policies.labelValues`` and ``createdAt`` are required, and each custom definition's
``identifier`` is lowercase letters and hyphens, at most 100 characters. The record is read where the
network would read it: from the PDS its DID document names (``#atproto_pds``), with ``getRecord``.

Needs ``label.declaration``: a labeler such as skyware-labeler, whose did:plc has no repository, has no place
for the record.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from atcheck.suite import (
    ConformanceFailure,
    TargetUnderTest,
    document_entry,
    expect,
    expect_ok,
    expect_valid,
    lexicon_schema,
)
from atcheck.suite.labels import Labeler

#: These tests check the labeler (its record sits on a PDS, but the labeler is what must publish it).
pytestmark = pytest.mark.role("labeler")

_COLLECTION = "app.bsky.labeler.service"
_IDENTIFIER = re.compile(r"[a-z-]+")


@pytest.fixture
def declaration(
    target: TargetUnderTest, labeler: Labeler, labeler_document: dict[str, Any]
) -> dict[str, Any]:
    """The labeler's ``app.bsky.labeler.service/self``, read from the PDS of its DID document."""
    pds = document_entry(labeler_document, "service", labeler.did, "atproto_pds")
    endpoint = pds.get("serviceEndpoint")
    if not isinstance(endpoint, str):
        raise ConformanceFailure("an #atproto_pds serviceEndpoint in the labeler's DID document", pds)
    # The document names the PDS as the network knows it (http://localhost:PORT); the target's PDS is the
    # one on that port, reached on 127.0.0.1.
    client = target.client("pds")
    expect(
        urlsplit(endpoint).port == urlsplit(client.base_url).port,
        "the labeler's repository on the target's PDS",
        endpoint,
    )
    resp = client.query(
        "com.atproto.repo.getRecord", {"repo": labeler.did, "collection": _COLLECTION, "rkey": "self"}
    )
    body = expect_ok(resp)
    value = body.get("value")
    expect(isinstance(value, dict), "a record value", body, resp)
    return dict(value)


@pytest.mark.requirement("LBL-DID-02")
@pytest.mark.needs("label.declaration", "identity.plc")
def test_the_declaration_matches_its_lexicon(declaration: dict[str, Any]) -> None:
    """Required ``policies`` (with ``labelValues``) and ``createdAt``, every field of its type."""
    expect_valid(declaration, lexicon_schema(_COLLECTION, "record"), "app.bsky.labeler.service/self")
    expect(
        isinstance(declaration.get("policies", {}).get("labelValues"), list),
        "policies.labelValues, a list",
        declaration.get("policies"),
    )
    expect(isinstance(declaration.get("createdAt"), str), "createdAt", declaration)


@pytest.mark.requirement("LBL-DID-02")
@pytest.mark.needs("label.declaration", "identity.plc")
def test_custom_label_identifiers_are_lowercase_and_hyphens(declaration: dict[str, Any]) -> None:
    """Each ``labelValueDefinitions[].identifier`` is ``[a-z-]+`` and at most 100 characters."""
    definitions = declaration.get("policies", {}).get("labelValueDefinitions", [])
    bad = [
        d.get("identifier")
        for d in definitions
        if not (
            isinstance(d, dict)
            and isinstance(d.get("identifier"), str)
            and _IDENTIFIER.fullmatch(d["identifier"])
            and len(d["identifier"]) <= 100
        )
    ]
    expect(not bad, "identifiers of [a-z-]+, at most 100 characters", bad)
