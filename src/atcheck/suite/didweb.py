"""did:web identities of the suite's own: their DID documents and the service-auth tokens they sign.

Why: a did:web account is brought to a PDS by its owner, who proves control of the DID with a
service-auth JWT signed by the document's ``#atproto`` key (``createAccount`` with ``did``), and who serves
the document at ``https://<host>/.well-known/did.json`` (did §did:web). atcheck plays that owner: it makes
the key, renders the document (served by :class:`atcheck.suite.resolvers.WellKnownServer`) and signs the
token itself, so what the PDS accepts or refuses depends on the PDS alone.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from atcheck.oracle.crypto import PrivateKey

__all__ = ["DidWeb", "PrivateKey", "did_web_document", "service_auth_token"]

DID_CONTEXT = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
    "https://w3id.org/security/suites/secp256k1-2019/v1",
]


@dataclass(frozen=True)
class DidWeb:
    """A did:web of atcheck's own: the host that serves its document, and its ``#atproto`` key."""

    host: str
    key: PrivateKey

    @property
    def did(self) -> str:
        return f"did:web:{self.host}"


def did_web_document(
    did: str,
    *,
    handle: str,
    pds: str,
    keys: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """A DID document: ``at://handle``, one Multikey verification method per (fragment, multikey) in order,
    and the ``#atproto_pds`` service at ``pds``."""
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "alsoKnownAs": [f"at://{handle}"],
        "verificationMethod": [
            {"id": f"{did}#{fragment}", "type": "Multikey", "controller": did, "publicKeyMultibase": multikey}
            for fragment, multikey in keys
        ],
        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}],
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_auth_token(key: PrivateKey, *, iss: str, aud: str, lxm: str, ttl_s: int = 60) -> str:
    """A service-auth JWT (xrpc §Inter-Service Authentication) signed by ``key``: low-S ``r || s``, with
    ``exp`` ``ttl_s`` seconds ahead and a random ``jti``."""
    header = {"typ": "JWT", "alg": key.public.jwt_alg}
    now = int(time.time())
    payload = {
        "iss": iss,
        "aud": aud,
        "lxm": lxm,
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_hex(8),
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64url(key.sign(signing_input.encode()))}"
