"""Service-auth JWTs (xrpc §Inter-Service Authentication): compact JWS signed with the account's atproto key.

Only what a verifier needs: split the token, decode header and claims (base64url JSON), and check the
signature, a compact 64-byte ``r || s`` over ``<header>.<claims>`` with the low-S rule, the same as every
other atproto signature. The claims are judged by the caller (``iss``, ``aud``, ``lxm``, ``exp``...).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from atcheck.oracle.crypto import PublicKey, verify_signature
from atcheck.oracle.errors import OracleError

__all__ = ["ServiceJwt", "parse_jwt"]


def _b64url(segment: str, what: str) -> bytes:
    if "=" in segment:
        raise OracleError(f"the JWT {what} segment is padded; compact JWS uses unpadded base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError as exc:
        raise OracleError(f"the JWT {what} segment is not base64url: {exc}") from None


def _object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(segment, what))
    except ValueError as exc:
        raise OracleError(f"the JWT {what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise OracleError(f"the JWT {what} is not a JSON object")
    return value


@dataclass(frozen=True)
class ServiceJwt:
    """A decoded compact JWS: header, claims, and what the signature covers."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verify(self, key: PublicKey) -> None:
        """Raise :class:`OracleError` unless ``alg`` fits the key and the signature is the key's."""
        want = key.jwt_alg
        if self.header.get("alg") != want:
            raise OracleError(f"alg {self.header.get('alg')!r} does not match the {key.curve} key ({want})")
        verify_signature(key, self.signing_input, self.signature)


def parse_jwt(token: str) -> ServiceJwt:
    """Split and decode a compact JWT; raise :class:`OracleError` on any malformation."""
    parts = token.split(".")
    if len(parts) != 3:
        raise OracleError(f"a compact JWT has three dot-separated parts, this one {len(parts)}")
    header, claims = _object(parts[0], "header"), _object(parts[1], "claims")
    signature = _b64url(parts[2], "signature")
    return ServiceJwt(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
