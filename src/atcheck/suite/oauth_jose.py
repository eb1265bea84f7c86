"""The JOSE pieces an atproto OAuth client needs: ES256 keys, signed JWTs, DPoP proofs and PKCE.

atcheck plays the client against each authorization server, so it signs its own DPoP proofs and client
assertions. These are written here on ``cryptography`` rather than taken from a JOSE library so that a test
can send exactly the malformed proof it means to (another key, a reused ``jti``, a wrong ``htu``, an old
``iat``): every claim is a parameter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(32, "big")


@dataclass
class Es256Key:
    """A P-256 key pair, made fresh per client or per DPoP session (``kid`` names it in a JWKS)."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(8))

    def public_jwk(self, *, with_kid: bool = False) -> dict[str, str]:
        """The public key as a JWK (RFC 7517): what goes in a DPoP header's ``jwk`` or a client's ``jwks``."""
        numbers = self.private.public_key().public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(_int_bytes(numbers.x)),
            "y": b64url(_int_bytes(numbers.y)),
        }
        if with_kid:
            jwk.update({"kid": self.kid, "alg": "ES256", "use": "sig"})
        return jwk

    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint (SHA-256): the ``jkt`` a DPoP-bound token is bound to."""
        jwk = self.public_jwk()
        canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def sign_jwt(self, header: dict[str, Any], payload: dict[str, Any]) -> str:
        """A compact JWS with ES256 (the signature as raw ``r || s``, RFC 7518 §3.4)."""
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(payload, separators=(",", ":")).encode())
        )
        der = self.private.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(_int_bytes(r) + _int_bytes(s))


def access_token_hash(access_token: str) -> str:
    """The DPoP ``ath`` claim: base64url SHA-256 of the access token (RFC 9449 §4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def dpop_proof(
    key: Es256Key,
    htm: str,
    htu: str,
    *,
    nonce: str | None = None,
    access_token: str | None = None,
    jti: str | None = None,
    iat: int | None = None,
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2) for one request; any claim can be overridden to break it."""
    payload: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": htm,
        "htu": htu,
        "iat": int(time.time()) if iat is None else iat,
    }
    if nonce is not None:
        payload["nonce"] = nonce
    if access_token is not None:
        payload["ath"] = access_token_hash(access_token)
    return key.sign_jwt({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()}, payload)


def client_assertion(key: Es256Key, client_id: str, audience: str, *, jti: str | None = None) -> str:
    """A ``private_key_jwt`` client assertion (RFC 7523) for a confidential client: ``iss``=``sub``=client_id,
    ``aud`` the authorization server's issuer, a fresh ``jti`` and ``iat``."""
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti or secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 60,
    }
    return key.sign_jwt({"typ": "JWT", "alg": "ES256", "kid": key.kid}, payload)


@dataclass(frozen=True)
class Pkce:
    """A PKCE verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""

    verifier: str
    challenge: str

    @staticmethod
    def new() -> Pkce:
        verifier = secrets.token_urlsafe(48)
        return Pkce(verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest()))
