"""atproto keys and signatures: did:key and Multikey parsing, strict ECDSA verification, signing for tests.

atproto allows two curves, both signing the SHA-256 of the message: NIST P-256 (multicodec ``p256-pub``,
0x1200, JWT ``ES256``) and secp256k1 (``secp256k1-pub``, 0xe7, ``ES256K``). Public keys travel as
compressed points, multicodec-prefixed and base58btc-multibase encoded (``z...``), either as a did:key or as
a DID document's Multikey ``publicKeyMultibase``. Signatures are the 64-byte compact ``r || s`` with the
low-S rule (``s <= n/2``): DER signatures and high-S signatures are *invalid* in atproto, although generic
ECDSA libraries accept both. The ``cryptography`` package does the curve arithmetic; the atproto rules
around it are checked here. For secp256k1 the oracle uses libsecp256k1 (``coincurve``) when it is installed:
OpenSSL 3.0's generic-curve code takes ~2 ms per k256 verification, libsecp256k1 ~50 us, which is what lets
the oracle check a firehose at line rate. Both backends get the same input (the atproto rules are checked
first) and give the same verdict; parsed backend keys are cached per key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from atcheck.oracle.errors import OracleError

try:  # libsecp256k1: the fast k256 backend, optional
    import coincurve as _coincurve
except ImportError:  # pragma: no cover - depends on the environment
    _coincurve = None  # type: ignore[assignment]

__all__ = [
    "PrivateKey",
    "PublicKey",
    "b58decode",
    "b58encode",
    "is_valid_signature",
    "parse_did_key",
    "parse_legacy_multibase",
    "parse_multikey",
    "verify_signature",
]

Curve = Literal["k256", "p256"]

_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(_B58)}
_PREFIX: Final[dict[Curve, bytes]] = {"k256": b"\xe7\x01", "p256": b"\x80\x24"}
_ORDER: Final[dict[Curve, int]] = {
    "k256": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    "p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
}
_CURVE: Final[dict[Curve, ec.EllipticCurve]] = {"k256": ec.SECP256K1(), "p256": ec.SECP256R1()}
_JWT_ALG: Final[dict[Curve, str]] = {"k256": "ES256K", "p256": "ES256"}
_LEGACY_SUITES: Final[dict[str, Curve]] = {
    "EcdsaSecp256k1VerificationKey2019": "k256",
    "EcdsaSecp256r1VerificationKey2019": "p256",
}


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        digit = _B58_INDEX.get(c)
        if digit is None:
            raise OracleError(f"{c!r} is not a base58btc character")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * zeros + body


@dataclass(frozen=True)
class PublicKey:
    """A validated atproto public key (a point on the curve), kept in compressed form."""

    curve: Curve
    compressed: bytes

    @property
    def jwt_alg(self) -> str:
        return _JWT_ALG[self.curve]

    @property
    def multikey(self) -> str:
        """The ``publicKeyMultibase`` value of a Multikey verification method."""
        return "z" + b58encode(_PREFIX[self.curve] + self.compressed)

    @property
    def did_key(self) -> str:
        return "did:key:" + self.multikey

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise :class:`OracleError` unless ``signature`` is a valid atproto signature of ``message``."""
        verify_signature(self, message, signature)

    def _crypto_key(self) -> ec.EllipticCurvePublicKey:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE[self.curve], self.compressed)


def _from_point(curve: Curve, point: bytes, what: str, *, allow_uncompressed: bool = False) -> PublicKey:
    if len(point) == 65 and point[0] == 4:
        if not allow_uncompressed:
            raise OracleError(f"{what}: uncompressed {curve} point; atproto requires the compressed form")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE[curve], point)
        except ValueError:
            raise OracleError(f"{what}: not a point on the {curve} curve") from None
        return PublicKey(curve, key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))
    if len(point) != 33 or point[0] not in (2, 3):
        raise OracleError(f"{what}: not a 33-byte compressed {curve} point ({len(point)} bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(_CURVE[curve], point)
    except ValueError:
        raise OracleError(f"{what}: not a point on the {curve} curve") from None
    return PublicKey(curve, bytes(point))


def parse_multikey(value: str) -> PublicKey:
    """Parse a Multikey ``publicKeyMultibase`` (``z`` + base58btc of multicodec prefix + compressed point)."""
    if not value.startswith("z"):
        raise OracleError(f"Multikey {value[:60]!r} is not base58btc multibase (must start with 'z')")
    raw = b58decode(value[1:])
    for curve, prefix in _PREFIX.items():
        if raw.startswith(prefix):
            return _from_point(curve, raw[len(prefix) :], f"Multikey {value[:60]!r}")
    raise OracleError(
        f"Multikey {value[:60]!r} has multicodec prefix {raw[:2].hex()}, "
        "not secp256k1-pub (e701) or p256-pub (8024)"
    )


def parse_did_key(did: str) -> PublicKey:
    """Parse a ``did:key:z...`` of one of atproto's two curves."""
    if not did.startswith("did:key:"):
        raise OracleError(f"{did[:60]!r} is not a did:key")
    try:
        return parse_multikey(did[len("did:key:") :])
    except OracleError as exc:
        raise OracleError(exc.problem.replace("Multikey", "did:key", 1)) from None


def parse_legacy_multibase(value: str, suite: str) -> PublicKey:
    """Parse a deprecated pre-Multikey DID document key (``EcdsaSecp256k1VerificationKey2019`` etc.).

    No multicodec prefix; the spec (cryptography, "legacy multibase") says the point is uncompressed, and
    the interop vectors carry compressed ones, so both are accepted here.
    """
    curve = _LEGACY_SUITES.get(suite)
    if curve is None:
        raise OracleError(f"unknown verification method type {suite!r}")
    if not value.startswith("z"):
        raise OracleError(f"publicKeyMultibase {value[:60]!r} is not base58btc multibase")
    return _from_point(curve, b58decode(value[1:]), f"{suite} key", allow_uncompressed=True)


def _coerce(key: PublicKey | str) -> PublicKey:
    if isinstance(key, PublicKey):
        return key
    return parse_did_key(key) if key.startswith("did:key:") else parse_multikey(key)


def verify_signature(key: PublicKey | str, message: bytes, signature: bytes) -> None:
    """Verify an atproto signature: compact 64-byte ``r || s``, low-S, ECDSA over SHA-256 of ``message``.

    ``key`` may be a :class:`PublicKey`, a did:key, or a Multikey string.
    """
    pub = _coerce(key)
    if len(signature) != 64:
        if signature[:1] == b"\x30":
            raise OracleError(
                f"signature is DER-encoded ({len(signature)} bytes); atproto requires compact 64-byte r||s"
            )
        raise OracleError(f"signature is {len(signature)} bytes; atproto requires compact 64-byte r||s")
    order = _ORDER[pub.curve]
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < order and 0 < s < order):
        raise OracleError("signature r or s is out of range for the curve")
    if s > order // 2:
        raise OracleError(f"signature is high-S ({pub.curve}); atproto requires the low-S form")
    if not _verifier(pub)(encode_dss_signature(r, s), message):
        raise OracleError(f"signature does not verify with key {pub.did_key}")


#: Which library verifies k256 signatures ("libsecp256k1" or "openssl"), for benchmarks and reports.
K256_BACKEND: Final = "libsecp256k1" if _coincurve is not None else "openssl"


@lru_cache(maxsize=4096)
def _verifier(pub: PublicKey) -> Callable[[bytes, bytes], bool]:
    """``verify(der_signature, message) -> bool`` for ``pub`` (ECDSA over SHA-256), built once per key."""
    if pub.curve == "k256" and _coincurve is not None:
        return _coincurve.PublicKey(pub.compressed).verify
    key = pub._crypto_key()
    algorithm = ec.ECDSA(hashes.SHA256())

    def verify(der: bytes, message: bytes) -> bool:
        try:
            key.verify(der, message, algorithm)
        except InvalidSignature:
            return False
        return True

    return verify


def is_valid_signature(key: PublicKey | str, message: bytes, signature: bytes) -> bool:
    try:
        verify_signature(key, message, signature)
    except OracleError:
        return False
    return True


class PrivateKey:
    """A signing key for building test repos and negative cases (never for anything secret)."""

    def __init__(self, curve: Curve, key: ec.EllipticCurvePrivateKey, *, deterministic: bool = False) -> None:
        self.curve: Curve = curve
        self._key = key
        # RFC 6979 nonces: the same key and message give the same signature (for generated fixtures).
        self.deterministic = deterministic
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        self.public = PublicKey(curve, point)

    @classmethod
    def generate(cls, curve: Curve = "k256") -> PrivateKey:
        return cls(curve, ec.generate_private_key(_CURVE[curve]))

    @classmethod
    def from_bytes(cls, curve: Curve, secret: bytes, *, deterministic: bool = False) -> PrivateKey:
        key = ec.derive_private_key(int.from_bytes(secret, "big"), _CURVE[curve])
        return cls(curve, key, deterministic=deterministic)

    def sign(self, message: bytes, *, low_s: bool = True) -> bytes:
        """Compact ``r || s`` signature; ``low_s=False`` gives the high-S twin, for negative tests."""
        algorithm = (
            ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
            if self.deterministic
            else ec.ECDSA(hashes.SHA256())
        )
        r, s = decode_dss_signature(self._key.sign(message, algorithm))
        order = _ORDER[self.curve]
        if (s > order // 2) == low_s:
            s = order - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
