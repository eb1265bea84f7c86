"""did:plc operations as the did:plc spec defines them: build, sign, hash, derive the DID, replay a log.

The PLC suite has to send a directory operations that are exactly right and operations that are wrong in one
way only, and then judge what the directory kept. Everything that needs the spec's byte-level rules is here:

- an operation is hashed and signed as DAG-CBOR; the signature covers the operation *without* its ``sig``
  key, and ``prev`` of a genesis operation is present with value null;
- ``sig`` is the compact 64-byte ``r || s`` ECDSA-SHA256 signature, low-S, in base64url without padding;
- ``prev`` and each log entry's ``cid`` are the CIDv1 (dag-cbor, sha-256, base32) of the signed operation;
- the DID is ``did:plc:`` + the first 24 characters of base32(sha-256(DAG-CBOR(signed genesis operation)));
- an operation is valid when signed by a rotation key of the operation it follows (the genesis operation by
  one of its own).

Nothing here talks to a server; :func:`replay_log` is the oracle a suite runs over a directory's audit log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import DAG_CBOR, compute_cid
from atcheck.oracle.crypto import PrivateKey, PublicKey, parse_did_key, verify_signature
from atcheck.oracle.errors import OracleError

__all__ = [
    "Op",
    "did_for_genesis",
    "encode_sig",
    "genesis_hash_chars",
    "genesis_op",
    "is_plc_did",
    "op_cid",
    "replay_log",
    "sign_op",
    "signer_index",
    "signing_bytes",
    "tombstone_op",
    "update_op",
    "verify_audit_log",
]

Op = dict[str, Any]
"""A PLC operation in its JSON form (only strings, lists, maps and null)."""

_B32: Final = "abcdefghijklmnopqrstuvwxyz234567"
#: did-plc §Identifier Syntax: ``did:plc:`` and 24 characters of the lowercase base32 alphabet.
PLC_DID: Final = re.compile(r"did:plc:[a-z2-7]{24}")
SigForm = Literal["compact", "der", "padded", "high-s"]


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def signing_bytes(op: Op) -> bytes:
    """The bytes a rotation key signs: DAG-CBOR of the operation with the ``sig`` key removed entirely."""
    unsigned = {k: v for k, v in op.items() if k != "sig"}
    return encode(unsigned)


def op_cid(op: Op) -> str:
    """The CID of a signed operation: what a later operation's ``prev`` and the audit log's ``cid`` hold."""
    return str(compute_cid(encode(op), DAG_CBOR))


def genesis_hash_chars(op: Op) -> str:
    """All 52 base32 characters of sha-256 of a signed genesis operation's DAG-CBOR (the DID takes 24)."""
    return _b32(hashlib.sha256(encode(op)).digest())


def did_for_genesis(op: Op) -> str:
    """The DID a signed genesis operation creates: first 24 base32 characters of sha-256 of its DAG-CBOR."""
    return "did:plc:" + genesis_hash_chars(op)[:24]


def is_plc_did(value: object) -> bool:
    """Whether ``value`` has the did:plc identifier form: ``did:plc:`` and 24 chars of ``[a-z2-7]``."""
    return isinstance(value, str) and PLC_DID.fullmatch(value) is not None


def encode_sig(raw: bytes, *, pad: bool = False) -> str:
    """base64url of the signature bytes; the spec forbids padding, ``pad`` makes the refused form."""
    text = base64.urlsafe_b64encode(raw).decode("ascii")
    return text if pad else text.rstrip("=")


def _der(compact: bytes) -> bytes:
    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\x00") or b"\x00"
        if value[0] & 0x80:
            value = b"\x00" + value
        return b"\x02" + bytes([len(value)]) + value

    body = integer(compact[:32]) + integer(compact[32:])
    return b"\x30" + bytes([len(body)]) + body


def sign_op(op: Op, key: PrivateKey, *, form: SigForm = "compact") -> Op:
    """``op`` with ``sig`` set by ``key`` over :func:`signing_bytes`.

    ``form`` other than ``compact`` gives the signature in a shape the spec refuses (DER, padded base64url,
    high-S), with the same signed content, for negative tests.
    """
    message = signing_bytes(op)
    raw = key.sign(message, low_s=form != "high-s")
    if form == "der":
        raw = _der(raw)
    signed = {k: v for k, v in op.items() if k != "sig"}
    signed["sig"] = encode_sig(raw, pad=form == "padded")
    return signed


def genesis_op(
    rotation_keys: Sequence[PublicKey],
    signing_key: PublicKey,
    handle: str,
    pds_endpoint: str,
) -> Op:
    """An unsigned atproto genesis operation (``prev`` present and null), as the spec's example shapes it."""
    return {
        "type": "plc_operation",
        "rotationKeys": [k.did_key for k in rotation_keys],
        "verificationMethods": {"atproto": signing_key.did_key},
        "alsoKnownAs": [f"at://{handle}"],
        "services": {"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": pds_endpoint}},
        "prev": None,
    }


def update_op(prev: Op, **changes: Any) -> Op:
    """An unsigned update following the signed operation ``prev``: its fields, with ``changes`` applied."""
    if prev.get("type") != "plc_operation":
        raise OracleError(f"an update can only follow a plc_operation, not {prev.get('type')!r}")
    fields = {k: v for k, v in prev.items() if k not in ("sig", "prev")}
    fields.update(changes)
    fields["prev"] = op_cid(prev)
    return fields


def tombstone_op(prev: Op) -> Op:
    """An unsigned tombstone following the signed operation ``prev``."""
    return {"type": "plc_tombstone", "prev": op_cid(prev)}


def _decode_sig(text: object) -> bytes:
    if not isinstance(text, str):
        raise OracleError(f"sig is {type(text).__name__}, not a string")
    if "=" in text or len(text) % 4 == 1:
        raise OracleError(f"sig {text[:20]!r}... is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise OracleError(f"sig {text[:20]!r}... is not base64url") from None
    if encode_sig(raw) != text:
        raise OracleError(f"sig {text[:20]!r}... has non-zero trailing bits (not canonical base64url)")
    return raw


def signer_index(op: Op, rotation_keys: Sequence[str]) -> int:
    """The index in ``rotation_keys`` (did:keys) of the key whose signature ``op`` carries.

    Raises :class:`OracleError` when no key verifies it under the spec's strict rules.
    """
    raw = _decode_sig(op.get("sig"))
    message = signing_bytes(op)
    for index, did_key in enumerate(rotation_keys):
        try:
            key = parse_did_key(did_key)
            verify_signature(key, message, raw)
        except OracleError:
            continue
        return index
    raise OracleError(f"the signature of operation {op_cid(op)} verifies with none of {list(rotation_keys)}")


def _normalise_genesis(op: Op) -> Op:
    """The state a legacy ``create`` genesis operation stands for (the spec's conversion)."""
    handle = str(op.get("handle", ""))
    service = str(op.get("service", ""))
    return {
        "rotationKeys": [op.get("recoveryKey"), op.get("signingKey")],
        "verificationMethods": {"atproto": op.get("signingKey")},
        "alsoKnownAs": [handle if handle.startswith("at://") else f"at://{handle}"],
        "services": {"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": service}},
    }


_STATE_FIELDS: Final = ("rotationKeys", "verificationMethods", "alsoKnownAs", "services")


def replay_log(did: str, ops: Sequence[Op]) -> dict[str, Any] | None:
    """Replay the valid (non-nullified) operations of a DID and return its state, or None if tombstoned.

    Checks what a directory must have checked before accepting each operation: the genesis operation
    derives ``did`` and carries ``prev: null``; every later ``prev`` is the CID of the one before; every
    operation is signed by a rotation key of the state it follows; a tombstone is last. The state has the
    keys of the PLC's ``/<did>/data``: ``did``, ``rotationKeys``, ``verificationMethods``, ``alsoKnownAs``,
    ``services``.
    """
    if not ops:
        raise OracleError(f"the log of {did} is empty")
    first, *rest = ops
    kind = first.get("type")
    if kind not in ("plc_operation", "create"):
        raise OracleError(f"the genesis operation of {did} has type {kind!r}")
    if "prev" not in first or first["prev"] is not None:
        raise OracleError(f"the genesis operation of {did} must carry prev: null")
    derived = did_for_genesis(first)
    if derived != did:
        raise OracleError(f"the genesis operation hashes to {derived}, not {did}")
    state = _normalise_genesis(first) if kind == "create" else {k: first.get(k) for k in _STATE_FIELDS}
    signer_index(first, _rotation_keys(first))
    prev, tombstoned = op_cid(first), False
    for op in rest:
        if tombstoned:
            raise OracleError(f"operation {op_cid(op)} follows a tombstone")
        if op.get("prev") != prev:
            raise OracleError(f"operation {op_cid(op)} has prev {op.get('prev')!r}, not {prev}")
        signer_index(op, [str(k) for k in state.get("rotationKeys") or []])
        if op.get("type") == "plc_tombstone":
            tombstoned = True
        elif op.get("type") == "plc_operation":
            state = {k: op.get(k) for k in _STATE_FIELDS}
        else:
            raise OracleError(f"operation {op_cid(op)} has type {op.get('type')!r}")
        prev = op_cid(op)
    return None if tombstoned else {"did": did, **state}


RECOVERY_WINDOW: Final = timedelta(hours=72)


def _created_at(entry: dict[str, Any]) -> datetime:
    value = entry.get("createdAt")
    if not isinstance(value, str) or not value.endswith("Z"):
        raise OracleError(
            f"audit log entry {entry.get('cid')}: createdAt {value!r} is not an ISO UTC timestamp"
        )
    try:
        return datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise OracleError(
            f"audit log entry {entry.get('cid')}: createdAt {value!r} is not a timestamp"
        ) from None


def _rotation_keys(op: Op) -> list[str]:
    keys = _normalise_genesis(op)["rotationKeys"] if op.get("type") == "create" else op.get("rotationKeys")
    return [str(k) for k in keys] if isinstance(keys, list) else []


def verify_audit_log(did: str, entries: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Check a directory's whole audit log (``/<did>/log/audit``), nullified entries included.

    Beyond :func:`replay_log` of the valid chain: every entry's ``cid`` is its operation's CID, entries are
    in ``createdAt`` order, and every nullification is one the spec allows: the fork is signed by a
    rotation key strictly higher in priority (lower index) than the signer of the first operation it
    nullifies, no later than 72 hours after that operation; the ``nullified`` flags are exactly the
    operations forked away. Returns the current state, or None when the DID is tombstoned.
    """
    chain: list[tuple[dict[str, Any], datetime]] = []
    nullified: set[str] = set()
    last_time: datetime | None = None
    for entry in entries:
        op = entry.get("operation")
        if not isinstance(op, dict):
            raise OracleError(f"audit log entry {entry.get('cid')} has no operation object")
        if entry.get("cid") != op_cid(op):
            raise OracleError(
                f"audit log entry cid {entry.get('cid')} is not its operation's CID {op_cid(op)}"
            )
        when = _created_at(entry)
        if last_time is not None and when < last_time:
            raise OracleError(f"audit log entry {entry.get('cid')} is older than the entry before it")
        last_time = when
        if not chain:
            chain.append((op, when))
            continue
        cids = [op_cid(o) for o, _ in chain]
        if op.get("prev") not in cids:
            raise OracleError(
                f"operation {op_cid(op)} has prev {op.get('prev')!r}, not an operation of the chain"
            )
        fork_at = cids.index(str(op.get("prev")))
        if fork_at < len(chain) - 1:
            keys = _rotation_keys(chain[fork_at][0])
            disputed, disputed_at = chain[fork_at + 1]
            if signer_index(op, keys) >= signer_index(disputed, keys):
                raise OracleError(
                    f"operation {op_cid(op)} nullifies {op_cid(disputed)} without a higher-priority key"
                )
            if when - disputed_at > RECOVERY_WINDOW:
                raise OracleError(
                    f"operation {op_cid(op)} nullifies {op_cid(disputed)} after the 72 h window"
                )
            nullified.update(cids[fork_at + 1 :])
            del chain[fork_at + 1 :]
        chain.append((op, when))
    flagged = {str(e.get("cid")) for e in entries if e.get("nullified")}
    if flagged != nullified:
        raise OracleError(f"the log marks {sorted(flagged)} nullified; its forks nullify {sorted(nullified)}")
    return replay_log(did, [o for o, _ in chain])
