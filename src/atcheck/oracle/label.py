"""Label signatures (label §Signatures): what bytes a labeler signs, and checking that it signed them.

A label (version 1) is signed over the DRISL-CBOR encoding of the label built from the schema's fields only
(``ver``, ``src``, ``uri``, ``cid``, ``val``, ``neg``, ``cts``, ``exp``), without ``sig``, ``$type`` or any
other field a Lexicon representation may carry. The SHA-256 of those bytes is signed with the
``#atproto_label`` key of the ``src`` DID's document: compact ``r || s``, low-S, k256 or p256
(cryptography spec). Nothing here trusts the labeler: the bytes are re-encoded by atcheck's own encoder
from the fields that came over the wire, so a label whose fields were changed after signing, or that was
signed with another key, or whose signature is high-S or DER, fails.

Labels arrive in two forms: JSON (``queryLabels``; ``sig`` is ``{"$bytes": base64}``) and data-model values
decoded from a ``subscribeLabels`` frame (``sig`` is bytes). :func:`label_from_json` turns the first into the
second; every other function takes the data-model form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from atcheck.oracle.cbor import Value, encode, from_json
from atcheck.oracle.crypto import PrivateKey, PublicKey, verify_signature
from atcheck.oracle.errors import OracleError

__all__ = [
    "LABEL_FIELDS",
    "LABEL_VERSION",
    "label_from_json",
    "sign_label",
    "signing_bytes",
    "verify_label",
]

#: The fields of a version-1 label other than ``sig``: the only ones the signature covers.
LABEL_FIELDS: Final = ("ver", "src", "uri", "cid", "val", "neg", "cts", "exp")
LABEL_VERSION: Final = 1


def label_from_json(obj: object) -> dict[str, Value]:
    """A label in its JSON form (``sig`` as ``$bytes``) as a data-model map; OracleError if it is not one."""
    value = from_json(obj, path="label", require_object=True)
    assert isinstance(value, dict)  # require_object
    return value


def signing_bytes(label: Mapping[str, Value]) -> bytes:
    """The DRISL-CBOR bytes a labeler signs: the schema fields present in ``label``, ``sig`` left out.

    A label without ``ver`` is signed as version 1 (the spec's "complete version of the label" includes
    ``ver``); whether ``ver`` must be on the wire is a separate check of the label object.
    """
    unsigned: dict[str, Value] = {name: label[name] for name in LABEL_FIELDS if name in label}
    unsigned.setdefault("ver", LABEL_VERSION)
    return encode(unsigned)


def verify_label(label: Mapping[str, Value], key: PublicKey) -> None:
    """Check ``label``'s ``sig`` against ``key`` (the ``#atproto_label`` key of its ``src``).

    Raises :class:`OracleError` when there is no ``sig``, when ``sig`` is not bytes, when ``ver`` is not 1,
    and when the signature is not a valid low-S compact signature of :func:`signing_bytes` by ``key``.
    """
    if "sig" not in label:
        raise OracleError("the label has no sig (labels moving between services must be signed)")
    sig = label["sig"]
    if not isinstance(sig, bytes):
        raise OracleError(f"the label's sig is {type(sig).__name__}, not bytes")
    ver = label.get("ver", LABEL_VERSION)
    if ver != LABEL_VERSION or isinstance(ver, bool):
        raise OracleError(f"the label's ver is {ver!r}; only version {LABEL_VERSION} is defined")
    try:
        verify_signature(key, signing_bytes(label), sig)
    except OracleError as exc:
        raise OracleError(f"label signature: {exc}") from None


def sign_label(label: Mapping[str, Value], key: PrivateKey) -> dict[str, Value]:
    """``label`` with ``ver`` 1 and a ``sig`` by ``key``: for self-tests and fake labelers only."""
    signed: dict[str, Value] = {name: label[name] for name in LABEL_FIELDS if name in label}
    signed.setdefault("ver", LABEL_VERSION)
    signed["sig"] = key.sign(signing_bytes(signed))
    return signed
