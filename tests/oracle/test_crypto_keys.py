"""Keys and signatures against the official crypto vectors, plus hand-made negatives."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atcheck.oracle.crypto import (
    PrivateKey,
    b58decode,
    b58encode,
    is_valid_signature,
    parse_did_key,
    parse_legacy_multibase,
    parse_multikey,
    verify_signature,
)
from atcheck.oracle.errors import OracleError
from atcheck.paths import vectors_dir


def _load(name: str) -> Any:
    return json.loads((vectors_dir() / "crypto" / name).read_text(encoding="utf-8"))


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


SIGNATURES = _load("signature-fixtures.json")


@pytest.mark.parametrize("case", SIGNATURES, ids=[c["comment"] for c in SIGNATURES])
def test_signature_fixture(case: dict[str, Any]) -> None:
    key = parse_did_key(case["publicKeyDid"])
    assert key.jwt_alg == case["algorithm"]
    assert parse_legacy_multibase(case["publicKeyMultibase"], case["didDocSuite"]) == key
    message, signature = _b64(case["messageBase64"]), _b64(case["signatureBase64"])
    assert is_valid_signature(key, message, signature) is case["validSignature"]
    if "high-s" in case["tags"]:
        with pytest.raises(OracleError, match="high-S"):
            verify_signature(key, message, signature)
    if "der-encoded" in case["tags"]:
        with pytest.raises(OracleError, match="DER-encoded"):
            verify_signature(key, message, signature)


def test_k256_private_keys_give_their_did_keys() -> None:
    for case in _load("w3c_didkey_K256.json"):
        priv = PrivateKey.from_bytes("k256", bytes.fromhex(case["privateKeyBytesHex"]))
        assert priv.public.did_key == case["publicDidKey"]
        assert parse_did_key(case["publicDidKey"]) == priv.public


def test_p256_private_keys_give_their_did_keys() -> None:
    for case in _load("w3c_didkey_P256.json"):
        priv = PrivateKey.from_bytes("p256", b58decode(case["privateKeyBytesBase58"]))
        assert priv.public.did_key == case["publicDidKey"]
        assert parse_did_key(case["publicDidKey"]).curve == "p256"


@pytest.mark.parametrize("curve", ["k256", "p256"])
def test_sign_verify_and_negatives(curve: Any) -> None:
    priv = PrivateKey.generate(curve)
    msg = b"commit bytes"
    sig = priv.sign(msg)
    verify_signature(priv.public.did_key, msg, sig)
    verify_signature(priv.public.multikey, msg, sig)
    assert parse_multikey(priv.public.multikey) == priv.public
    with pytest.raises(OracleError, match="high-S"):
        verify_signature(priv.public, msg, priv.sign(msg, low_s=False))
    with pytest.raises(OracleError, match="does not verify"):
        verify_signature(priv.public, msg + b"!", sig)
    with pytest.raises(OracleError, match="does not verify"):
        verify_signature(PrivateKey.generate(curve).public, msg, sig)
    with pytest.raises(OracleError, match="65 bytes"):
        verify_signature(priv.public, msg, sig + b"\x00")
    with pytest.raises(OracleError, match="out of range"):
        verify_signature(priv.public, msg, bytes(32) + sig[32:])


def test_key_parse_negatives() -> None:
    k = PrivateKey.generate("k256").public
    with pytest.raises(OracleError, match="not a did:key"):
        parse_did_key("did:plc:abc")
    with pytest.raises(OracleError, match="must start with 'z'"):
        parse_multikey("f" + k.compressed.hex())
    with pytest.raises(OracleError, match="multicodec prefix"):
        parse_multikey("z" + b58encode(b"\xed\x01" + bytes(32)))  # ed25519 is not an atproto curve
    uncompressed = PrivateKey.generate("p256")._key.public_key().public_numbers()
    point = b"\x04" + uncompressed.x.to_bytes(32, "big") + uncompressed.y.to_bytes(32, "big")
    with pytest.raises(OracleError, match="uncompressed"):
        parse_multikey("z" + b58encode(b"\x80\x24" + point))
    legacy = parse_legacy_multibase("z" + b58encode(point), "EcdsaSecp256r1VerificationKey2019")
    assert legacy.curve == "p256" and len(legacy.compressed) == 33
    assert parse_did_key(legacy.did_key) == legacy
    with pytest.raises(OracleError, match="not a point"):
        parse_legacy_multibase("z" + b58encode(b"\x04" + b"\x01" * 64), "EcdsaSecp256k1VerificationKey2019")
    with pytest.raises(OracleError, match="unknown verification method"):
        parse_legacy_multibase("z" + b58encode(point), "Ed25519VerificationKey2020")
    with pytest.raises(OracleError, match="not a point"):
        parse_multikey("z" + b58encode(b"\xe7\x01\x02" + b"\xff" * 32))
    with pytest.raises(OracleError, match="base58btc character"):
        parse_multikey("z0OIl")


@settings(max_examples=50)
@given(st.binary(max_size=40))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data
