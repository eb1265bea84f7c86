"""Keys and services of a DID document, read the way the identity spec says a consumer must.

Only what verification needs: a key by fragment (the first ``verificationMethod`` whose id is ``#atproto``
or ``<did>#atproto``; ``#atproto_label`` for a labeler) and a service endpoint by fragment. Whether the
document uses the current forms is for the identity suite to judge; a consumer may accept the legacy key
types here (did §Legacy Representation), so both are read.
"""

from __future__ import annotations

from typing import Any

from atcheck.oracle.crypto import PublicKey, parse_legacy_multibase, parse_multikey
from atcheck.oracle.errors import OracleError

__all__ = ["document_entry", "signing_key", "verification_key"]


def document_entry(doc: dict[str, Any], field: str, did: str, fragment: str) -> dict[str, Any]:
    """The first ``field`` entry whose id is ``#fragment`` or ``<did>#fragment`` (both forms are allowed)."""
    entries = doc.get(field)
    if not isinstance(entries, list):
        raise OracleError(f"the DID document has no {field} list")
    for item in entries:
        if isinstance(item, dict) and item.get("id") in (f"#{fragment}", f"{did}#{fragment}"):
            return item
    raise OracleError(f"the DID document has no {field} entry with id #{fragment}")


def verification_key(doc: dict[str, Any], did: str, fragment: str) -> PublicKey:
    """The public key of the document's ``#fragment`` verification method (Multikey, or a legacy type).

    Only that method: a document without it has no such key, whatever other keys it lists (label
    §Signatures forbids falling back to another key).
    """
    method = document_entry(doc, "verificationMethod", did, fragment)
    key, kind = method.get("publicKeyMultibase"), method.get("type")
    if not isinstance(key, str) or not isinstance(kind, str):
        raise OracleError(f"the #{fragment} verification method lacks a type or publicKeyMultibase string")
    return parse_multikey(key) if kind == "Multikey" else parse_legacy_multibase(key, kind)


def signing_key(doc: dict[str, Any], did: str) -> PublicKey:
    """The public key of the document's ``#atproto`` verification method: the repo signing key."""
    return verification_key(doc, did, "atproto")
