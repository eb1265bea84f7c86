"""The oracle's label signature check, and the suite verdict built on it, against labels signed here.

A labeler that signs with a key other than its DID document's ``#atproto_label`` key must fail; so must a
label changed after signing, a high-S or DER signature, or a label without ``sig``. Fields outside the
label schema (an ``id`` column, a ``$type``) are not signed and must not matter. The bytes signed are
cross-checked against cbrrr, an independent DAG-CBOR encoder.
"""

from __future__ import annotations

import base64
from typing import Any

import cbrrr
import pytest

from atcheck.checks import ConformanceFailure
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.label import label_from_json, sign_label, signing_bytes, verify_label
from atcheck.suite.labels import expect_label_signed, label_key

LABEL: dict[str, Any] = {
    "src": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "uri": "at://did:plc:abcdefghijklmnopqrstuvwx/app.bsky.feed.post/3k2abcdefgh2a",
    "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
    "val": "spam",
    "cts": "2024-01-01T00:00:00.000Z",
    "exp": "2030-01-01T00:00:00.000Z",
}


def _json(label: dict[str, Any]) -> dict[str, Any]:
    """The JSON form a labeler serves: ``sig`` as ``{"$bytes": base64}``."""
    out = dict(label)
    out["sig"] = {"$bytes": base64.b64encode(label["sig"]).decode().rstrip("=")}
    return out


@pytest.mark.parametrize("curve", ["k256", "p256"])
def test_a_label_verifies_with_the_key_that_signed_it(curve: str) -> None:
    key = PrivateKey.generate(curve)  # type: ignore[arg-type]
    verify_label(sign_label(LABEL, key), key.public)


def test_a_label_signed_with_another_key_fails() -> None:
    """The labeler signed with a key that is not its ``#atproto_label`` key."""
    published, used = PrivateKey.generate("k256"), PrivateKey.generate("k256")
    with pytest.raises(OracleError, match="does not verify"):
        verify_label(sign_label(LABEL, used), published.public)


def test_the_suite_verdict_fails_a_label_signed_with_another_key() -> None:
    published, used = PrivateKey.generate("k256"), PrivateKey.generate("k256")
    served = _json(sign_label(LABEL, used))
    with pytest.raises(ConformanceFailure, match="#atproto_label key"):
        expect_label_signed(served, published.public, "the served label")
    expect_label_signed(_json(sign_label(LABEL, published)), published.public, "the served label")


@pytest.mark.parametrize("field", ["src", "uri", "cid", "val", "cts", "exp"])
def test_a_field_changed_after_signing_fails(field: str) -> None:
    key = PrivateKey.generate("k256")
    signed = sign_label(LABEL, key)
    signed[field] = signed[field][:-1] + ("b" if signed[field][-1] != "b" else "c")
    with pytest.raises(OracleError):
        verify_label(signed, key.public)


def test_adding_neg_after_signing_fails() -> None:
    key = PrivateKey.generate("k256")
    signed = sign_label(LABEL, key)
    signed["neg"] = False  # present-but-false is a different encoding than absent
    with pytest.raises(OracleError):
        verify_label(signed, key.public)


def test_fields_outside_the_schema_are_not_signed() -> None:
    key = PrivateKey.generate("k256")
    served = _json(sign_label(LABEL, key)) | {"id": 7, "$type": "com.atproto.label.defs#label"}
    verify_label(label_from_json(served), key.public)


def test_a_high_s_signature_fails() -> None:
    key = PrivateKey.generate("k256")
    signed = sign_label(LABEL, key)
    signed["sig"] = key.sign(signing_bytes(signed), low_s=False)
    with pytest.raises(OracleError, match="high-S"):
        verify_label(signed, key.public)


def test_a_label_without_sig_fails() -> None:
    with pytest.raises(OracleError, match="no sig"):
        verify_label(dict(LABEL, ver=1), PrivateKey.generate("k256").public)


def test_the_signed_bytes_are_the_dag_cbor_of_the_schema_fields_with_ver() -> None:
    """Cross-checked with cbrrr: ver included, sig and unknown fields left out, keys in DAG-CBOR order."""
    label = dict(LABEL, neg=True, sig=b"\x00" * 64, id=3)
    expected = cbrrr.encode_dag_cbor({k: v for k, v in label.items() if k not in ("sig", "id")} | {"ver": 1})
    assert signing_bytes(label) == expected


def test_a_version_other_than_one_fails() -> None:
    key = PrivateKey.generate("k256")
    signed = sign_label(dict(LABEL, ver=2), key)
    signed["ver"] = 2
    with pytest.raises(OracleError, match="ver"):
        verify_label(signed, key.public)


def _document(did: str, key: PrivateKey) -> dict[str, Any]:
    return {
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#atproto",
                "type": "Multikey",
                "publicKeyMultibase": PrivateKey.generate().public.multikey,
            },
            {"id": f"{did}#atproto_label", "type": "Multikey", "publicKeyMultibase": key.public.multikey},
        ],
    }


def test_a_label_is_refused_once_the_label_key_is_rotated() -> None:
    """The key comes from the document as it is now: after a rotation, labels signed with the old key fail."""
    did = LABEL["src"]
    old, new = PrivateKey.generate("k256"), PrivateKey.generate("k256")
    served = _json(sign_label(LABEL, old))
    expect_label_signed(served, label_key(_document(did, old), did), "the label before the rotation")
    with pytest.raises(ConformanceFailure, match="#atproto_label key"):
        expect_label_signed(served, label_key(_document(did, new), did), "the label after the rotation")


def test_only_the_atproto_label_key_counts() -> None:
    """A document without ``#atproto_label`` has no label key, even if its ``#atproto`` key signed the label
    (label §Signatures: no fallback to other keys)."""
    did = LABEL["src"]
    repo_key = PrivateKey.generate("k256")
    doc = {
        "id": did,
        "verificationMethod": [
            {"id": "#atproto", "type": "Multikey", "publicKeyMultibase": repo_key.public.multikey}
        ],
    }
    with pytest.raises(ConformanceFailure, match="atproto_label"):
        label_key(doc, did)
