"""did:plc identities for the emulated PDS: genesis operations signed by the oracle, posted to the run's PLC.

The emulator must own real DIDs: a relay resolves every account it sees at the PLC, reads the ``#atproto``
key there to check commit signatures, and accepts an account only from the host its ``#atproto_pds``
service names. So each emulated account gets a genesis operation (DAG-CBOR, signed with its rotation key
over the unsigned bytes, the signature base64url without padding), and its DID is the first 24 base32
characters of the SHA-256 of the signed operation (did-plc spec, "DID creation").
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import httpx

from atcheck.oracle.cbor import Value, encode
from atcheck.oracle.crypto import PrivateKey

__all__ = ["PlcError", "PlcIdentity", "genesis_operation", "plc_did", "register"]

PLC_TIMEOUT_S = 10.0


class PlcError(Exception):
    """The PLC refused an operation or could not be reached (a one-line reason)."""


@dataclass(frozen=True)
class PlcIdentity:
    """An account identity the emulator controls: its DID, keys, handle and the PDS its document names."""

    did: str
    handle: str
    signing_key: PrivateKey
    rotation_key: PrivateKey
    pds_url: str


def genesis_operation(
    signing_key: PrivateKey, rotation_key: PrivateKey, handle: str, pds_url: str
) -> dict[str, Value]:
    """A signed did:plc genesis operation (``prev`` null) naming ``pds_url`` as the account's PDS."""
    unsigned: dict[str, Value] = {
        "type": "plc_operation",
        "rotationKeys": [rotation_key.public.did_key],
        "verificationMethods": {"atproto": signing_key.public.did_key},
        "alsoKnownAs": [f"at://{handle}"],
        "services": {"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": pds_url}},
        "prev": None,
    }
    sig = rotation_key.sign(encode(unsigned))
    return {**unsigned, "sig": base64.urlsafe_b64encode(sig).rstrip(b"=").decode()}


def plc_did(signed_genesis: dict[str, Value]) -> str:
    digest = hashlib.sha256(encode(signed_genesis)).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def register(client: httpx.Client, plc_url: str, handle: str, pds_url: str) -> PlcIdentity:
    """Create a fresh did:plc at ``plc_url`` whose document names ``pds_url``; raise :class:`PlcError`."""
    signing_key, rotation_key = PrivateKey.generate("k256"), PrivateKey.generate("k256")
    op = genesis_operation(signing_key, rotation_key, handle, pds_url)
    did = plc_did(op)
    try:
        resp = client.post(f"{plc_url.rstrip('/')}/{did}", json=op, timeout=PLC_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise PlcError(f"cannot reach the PLC at {plc_url}: {exc}") from None
    if resp.status_code != 200:
        raise PlcError(f"the PLC at {plc_url} refused {did}: HTTP {resp.status_code} {resp.text[:200]}")
    return PlcIdentity(did, handle, signing_key, rotation_key, pds_url)
