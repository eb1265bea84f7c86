"""A did:plc directory as the PLC suite drives it: identities of our own, operations sent, verdicts.

The suite plays a PLC client (a PDS, a user with a recovery key) against the directory under test, with keys
it generates itself, so every operation's bytes are known. :class:`PlcIdentity` keeps the keys and the
operations accepted so far; :func:`submit` sends one; :func:`expect_accepted` and :func:`expect_refused` are
the verdicts (refused means a 4xx answer *and* an unchanged log: a directory that answers 400 but keeps the
operation is as wrong as one that answers 200). :data:`MUTATIONS` lists the operations the spec says a
directory must refuse, each wrong in one way only, so the suite and atcheck's self-test judge the same set.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atcheck.checks import ConformanceFailure, expect, expect_equal
from atcheck.oracle.crypto import PrivateKey, b58encode
from atcheck.oracle.plc import (
    Op,
    did_for_genesis,
    genesis_hash_chars,
    genesis_op,
    is_plc_did,
    op_cid,
    sign_op,
    signer_index,
    signing_bytes,
    tombstone_op,
    update_op,
    verify_audit_log,
)
from atcheck.suite.verdicts import oracle_verdict
from atcheck.xrpc.client import XrpcClient, XrpcResponse

__all__ = [
    "MUTATIONS",
    "PDS_ENDPOINT",
    "WRONG_FORM",
    "Mutation",
    "Op",
    "PlcIdentity",
    "PrivateKey",
    "audit_log",
    "did_for_genesis",
    "ed25519_did_key",
    "expect_accepted",
    "expect_refused",
    "expect_replays",
    "genesis_op",
    "is_plc_did",
    "new_identity",
    "op_cid",
    "plc_json",
    "sign_op",
    "signer_index",
    "signing_bytes",
    "submit",
    "tombstone_op",
    "update_op",
    "verify_audit_log",
]

PDS_ENDPOINT = "https://pds.atcheck.test"


@dataclass
class PlcIdentity:
    """A DID the suite created at the directory: its rotation keys (in priority order) and accepted ops."""

    did: str
    rotation: list[PrivateKey]
    signing: PrivateKey
    ops: list[Op] = field(default_factory=list)

    @property
    def last(self) -> Op:
        return self.ops[-1]


def submit(plc: XrpcClient, did: str, op: Op) -> XrpcResponse:
    """``POST /<did>`` with the operation as JSON: how every operation reaches a directory."""
    return plc.request("POST", f"/{did}", json=op)


def plc_json(plc: XrpcClient, path: str) -> Any:
    """``GET <path>`` at the directory: HTTP 200 and a JSON body."""
    resp = plc.get(path)
    if resp.status != 200:
        raise ConformanceFailure(f"HTTP 200 from GET {path}", f"HTTP {resp.status} {resp.text[:200]!r}", resp)
    return resp.json()


def audit_log(plc: XrpcClient, did: str) -> list[dict[str, Any]]:
    """``/<did>/log/audit``: every operation of the DID, nullified ones too, in order."""
    log = plc_json(plc, f"/{did}/log/audit")
    if not isinstance(log, list) or not all(isinstance(e, dict) for e in log):
        raise ConformanceFailure("the audit log as a JSON array of objects", log)
    return log


def expect_accepted(resp: XrpcResponse, what: str) -> None:
    """The directory accepted a valid operation (any 2xx)."""
    expect(
        200 <= resp.status < 300,
        f"{what} to be accepted (HTTP 2xx)",
        f"HTTP {resp.status} {resp.text[:300]!r}",
        resp,
    )


def _log_cids(plc: XrpcClient, did: str) -> list[tuple[str, bool]]:
    resp = plc.get(f"/{did}/log/audit")
    if resp.status == 404:
        return []
    if resp.status != 200:
        raise ConformanceFailure(f"the audit log of {did} (HTTP 200 or 404)", f"HTTP {resp.status}", resp)
    body = resp.json()
    if not isinstance(body, list):
        raise ConformanceFailure("the audit log as a JSON array", body, resp)
    return [(str(e.get("cid")), bool(e.get("nullified"))) for e in body if isinstance(e, dict)]


def expect_refused(plc: XrpcClient, did: str, op: Op, what: str) -> XrpcResponse:
    """Send ``op``; the directory must answer 4xx and keep its log of ``did`` exactly as it was.

    The spec fixes no status code for a rejected operation; any 4xx is a refusal, a 5xx is not (the
    directory failed instead of judging the operation).
    """
    before = _log_cids(plc, did)
    resp = submit(plc, did, op)
    expect(
        400 <= resp.status < 500,
        f"{what} to be refused (HTTP 4xx)",
        f"HTTP {resp.status} {resp.text[:300]!r}",
        resp,
    )
    after = _log_cids(plc, did)
    expect_equal(after, before, f"the audit log of {did} after the refused operation (unchanged)", resp)
    return resp


def new_identity(plc: XrpcClient, curves: tuple[str, ...] = ("k256", "p256")) -> PlcIdentity:
    """Create a DID at the directory with fresh rotation keys (one per curve, in this priority order)."""
    rotation = [PrivateKey.generate("p256" if c == "p256" else "k256") for c in curves]
    signing = PrivateKey.generate("k256")
    handle = f"plc{secrets.token_hex(4)}.atcheck.test"
    op = sign_op(genesis_op([k.public for k in rotation], signing.public, handle, PDS_ENDPOINT), rotation[0])
    did = did_for_genesis(op)
    expect_accepted(submit(plc, did, op), "a genesis operation signed by its first rotation key")
    return PlcIdentity(did=did, rotation=rotation, signing=signing, ops=[op])


def ed25519_did_key() -> str:
    """A syntactically valid did:key of a curve rotation keys may not use (ed25519, multicodec 0xed)."""
    return "did:key:z" + b58encode(b"\xed\x01" + secrets.token_bytes(32))


def _bad_did_key(kind: str) -> str:
    """A did:key that is not a usable k256/p256 key in one way: not base58btc multibase, a point off the
    curve, or a compressed point of the wrong length."""
    if kind == "not-base58btc":
        return "did:key:f" + (b"\xe7\x01\x02" + secrets.token_bytes(32)).hex()
    if kind == "off-curve":
        return "did:key:z" + b58encode(b"\xe7\x01\x02" + b"\xff" * 32)
    return "did:key:z" + b58encode(b"\xe7\x01\x02" + secrets.token_bytes(20))


def _with_bad_rotation_key(kind: str) -> Callable[[PlcIdentity], tuple[str, Op]]:
    def build(ident: PlcIdentity) -> tuple[str, Op]:
        keys = [ident.rotation[0].public.did_key, _bad_did_key(kind)]
        return ident.did, sign_op(_update(ident, rotationKeys=keys), ident.rotation[0])

    return build


def _corrupt_sig(op: Op) -> Op:
    """The same operation with one bit of the signature's ``r`` flipped: still 64 bytes, still base64url."""
    raw = bytearray(base64.urlsafe_b64decode(op["sig"] + "=" * (-len(op["sig"]) % 4)))
    raw[5] ^= 0x01
    return {**op, "sig": base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")}


@dataclass(frozen=True)
class Mutation:
    """An operation the directory must refuse: ``build`` makes it for an identity and names its DID.

    Which requirements a refusal checks is the suite's business (its test names them per case).
    """

    name: str
    why: str
    build: Callable[[PlcIdentity], tuple[str, Op]]


def _update(ident: PlcIdentity, **changes: Any) -> Op:
    changes.setdefault("alsoKnownAs", [f"at://u{secrets.token_hex(3)}.atcheck.test"])
    return update_op(ident.last, **changes)


def _genesis(ident: PlcIdentity, *, keys: list[str] | None = None, drop_prev: bool = False) -> tuple[str, Op]:
    op = genesis_op([k.public for k in ident.rotation], ident.signing.public, "g.atcheck.test", PDS_ENDPOINT)
    op["alsoKnownAs"] = [f"at://g{secrets.token_hex(4)}.atcheck.test"]
    if keys is not None:
        op["rotationKeys"] = keys
    if drop_prev:
        del op["prev"]
    signed = sign_op(op, ident.rotation[0])
    return did_for_genesis(signed), signed


def _other_did_genesis(ident: PlcIdentity) -> tuple[str, Op]:
    _, op = _genesis(ident)
    other = did_for_genesis(sign_op({**op, "alsoKnownAs": ["at://other.atcheck.test"]}, ident.rotation[0]))
    return other, op


def _many_keys(n: int) -> Callable[[PlcIdentity], tuple[str, Op]]:
    def build(ident: PlcIdentity) -> tuple[str, Op]:
        keys = [k.public.did_key for k in ident.rotation]
        keys += [PrivateKey.generate("k256").public.did_key for _ in range(n - len(keys))]
        return _genesis(ident, keys=keys[:n])

    return build


def _oversized(ident: PlcIdentity) -> tuple[str, Op]:
    # Ten long aliases and ten services: every entry within the reference's per-field limits, the whole
    # operation well over 7500 bytes of DAG-CBOR.
    aliases = [f"at://{'a' * 60}.{'b' * 60}.{'c' * 60}.x{i}.test" for i in range(10)]
    services = {
        f"svc{i}": {"type": "AtcheckFiller", "endpoint": f"https://{'e' * 200}.test/{'p' * 280}"}
        for i in range(10)
    }
    op = _update(ident, alsoKnownAs=aliases, services=services)
    return ident.did, sign_op(op, ident.rotation[0])


def _self_authorised(ident: PlcIdentity) -> tuple[str, Op]:
    intruder = PrivateKey.generate("k256")
    keys = [intruder.public.did_key, *(k.public.did_key for k in ident.rotation)]
    return ident.did, sign_op(_update(ident, rotationKeys=keys), intruder)


def _genesis_by(ident: PlcIdentity, key: PrivateKey) -> tuple[str, Op]:
    op = genesis_op([k.public for k in ident.rotation], ident.signing.public, "o.atcheck.test", PDS_ENDPOINT)
    op["alsoKnownAs"] = [f"at://o{secrets.token_hex(4)}.atcheck.test"]
    signed = sign_op(op, key)
    return did_for_genesis(signed), signed


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "bad-signature",
        "a signature that does not verify",
        lambda i: (i.did, _corrupt_sig(sign_op(_update(i), i.rotation[0]))),
    ),
    Mutation(
        "unknown-key",
        "an update signed by a key that is not a rotation key of the previous operation",
        lambda i: (i.did, sign_op(_update(i), PrivateKey.generate("k256"))),
    ),
    Mutation(
        "signed-by-atproto-key",
        "an update signed by the account's atproto signing key, which has no authority over the DID",
        lambda i: (i.did, sign_op(_update(i), i.signing)),
    ),
    Mutation(
        "key-only-in-the-new-op",
        "an update that adds a rotation key and is signed by it: authority comes from the previous op",
        _self_authorised,
    ),
    Mutation(
        "unknown-prev",
        "an update whose prev is the CID of no operation in the log",
        lambda i: (
            i.did,
            sign_op({**_update(i), "prev": op_cid({"x": secrets.token_hex(8)})}, i.rotation[0]),
        ),
    ),
    Mutation(
        "null-prev-update",
        "a second genesis (prev null) for an existing DID",
        lambda i: (i.did, sign_op({**_update(i), "prev": None}, i.rotation[0])),
    ),
    Mutation(
        "high-s",
        "a valid signature in its high-S form",
        lambda i: (i.did, sign_op(_update(i), i.rotation[0], form="high-s")),
    ),
    Mutation(
        "high-s-p256",
        "a valid p256 signature in its high-S form",
        lambda i: (i.did, sign_op(_update(i), i.rotation[1], form="high-s")),
    ),
    Mutation(
        "der-signature",
        "a valid signature DER-encoded instead of compact r||s",
        lambda i: (i.did, sign_op(_update(i), i.rotation[0], form="der")),
    ),
    Mutation(
        "padded-base64url",
        "a valid signature in base64url with = padding",
        lambda i: (i.did, sign_op(_update(i), i.rotation[0], form="padded")),
    ),
    Mutation(
        "extra-field",
        "an update with a field the operation format does not have (signed, so only the field is wrong)",
        lambda i: (i.did, sign_op({**_update(i), "atcheckExtra": "x"}, i.rotation[0])),
    ),
    Mutation(
        "unknown-type",
        "an operation of a type other than plc_operation, plc_tombstone or create",
        lambda i: (i.did, sign_op({**_update(i), "type": "plc_atcheck"}, i.rotation[0])),
    ),
    Mutation(
        "genesis-did-mismatch",
        "a genesis operation posted under a DID it does not hash to",
        _other_did_genesis,
    ),
    Mutation(
        "genesis-without-prev",
        "a genesis operation without the prev key (it must be present, with value null)",
        lambda i: _genesis(i, drop_prev=True),
    ),
    Mutation(
        "genesis-signed-by-outsider",
        "a genesis operation signed by a key not among its own rotation keys",
        lambda i: _genesis_by(i, PrivateKey.generate("k256")),
    ),
    Mutation(
        "no-rotation-keys",
        "an operation with an empty rotationKeys list",
        lambda i: (i.did, sign_op(_update(i, rotationKeys=[]), i.rotation[0])),
    ),
    Mutation(
        "six-rotation-keys",
        "a genesis operation with 6 rotation keys (at most 5)",
        _many_keys(6),
    ),
    Mutation(
        "duplicate-rotation-keys",
        "an operation whose rotationKeys repeat a key",
        lambda i: (
            i.did,
            sign_op(_update(i, rotationKeys=[i.rotation[0].public.did_key] * 2), i.rotation[0]),
        ),
    ),
    Mutation(
        "ed25519-rotation-key",
        "an operation naming an ed25519 did:key as a rotation key (only k256 and p256 are allowed)",
        lambda i: (
            i.did,
            sign_op(
                _update(i, rotationKeys=[i.rotation[0].public.did_key, ed25519_did_key()]), i.rotation[0]
            ),
        ),
    ),
    *(
        Mutation(
            f"rotation-key-{kind}",
            f"an operation whose second rotation key is a did:key with {why}",
            _with_bad_rotation_key(kind),
        )
        for kind, why in (
            ("not-base58btc", "a base16 ('f') multibase instead of base58btc ('z')"),
            ("off-curve", "a k256 prefix and an x coordinate that is not on the curve"),
            ("short", "a k256 prefix and a 21-byte point"),
        )
    ),
    Mutation(
        "verification-method-not-a-did-key",
        "an operation whose atproto verification method is not a did:key at all",
        lambda i: (
            i.did,
            sign_op(_update(i, verificationMethods={"atproto": "zQ3notadidkey"}), i.rotation[0]),
        ),
    ),
    Mutation(
        "eleven-verification-methods",
        "an operation with 11 verificationMethods (at most 10 since did:plc v0.2)",
        lambda i: (
            i.did,
            sign_op(
                _update(
                    i,
                    verificationMethods={
                        f"k{n}": PrivateKey.generate("k256").public.did_key for n in range(11)
                    },
                ),
                i.rotation[0],
            ),
        ),
    ),
    Mutation("oversized", "an operation over 7500 bytes of DAG-CBOR", _oversized),
    Mutation(
        "tombstone-by-unknown-key",
        "a tombstone signed by a key that is not a rotation key",
        lambda i: (i.did, sign_op(tombstone_op(i.last), PrivateKey.generate("k256"))),
    ),
)


def _wrong_form(chars: Callable[[str], str]) -> Callable[[PlcIdentity], tuple[str, Op]]:
    """A correct genesis operation, posted under ``did:plc:`` + ``chars(its base32 hash)``."""

    def build(ident: PlcIdentity) -> tuple[str, Op]:
        _, op = _genesis(ident)
        return "did:plc:" + chars(genesis_hash_chars(op)), op

    return build


#: Genesis operations posted under a DID of the wrong form (did-plc §Identifier Syntax: 24 characters of
#: lowercase base32), each built from the operation's own hash, so a directory that checks only a prefix of
#: the hash, or none of the length, would create it.
WRONG_FORM: tuple[Mutation, ...] = (
    Mutation(
        "did-23-chars",
        "a genesis operation posted under a 23-character identifier",
        _wrong_form(lambda h: h[:23]),
    ),
    Mutation(
        "did-25-chars",
        "a genesis operation posted under a 25-character identifier",
        _wrong_form(lambda h: h[:25]),
    ),
    Mutation(
        "did-whole-hash",
        "a genesis operation posted under its whole 52-character base32 hash",
        _wrong_form(lambda h: h),
    ),
    Mutation(
        "did-outside-alphabet",
        "a genesis operation posted under 23 hash characters and a character outside [a-z2-7] ('1')",
        _wrong_form(lambda h: h[:23] + "1"),
    ),
)


def expect_replays(plc: XrpcClient, did: str) -> dict[str, Any] | None:
    """Verify the DID's whole audit log with atcheck's oracle (signatures, prev chain, nullifications within
    the rules and flagged as such); return the current state it replays to (None when tombstoned)."""
    log = audit_log(plc, did)
    with oracle_verdict(f"the audit log of {did} to verify under the did:plc rules"):
        return verify_audit_log(did, log)
