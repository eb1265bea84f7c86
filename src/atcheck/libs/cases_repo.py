"""MST and signature cases: tree roots for sets of keys, and ECDSA signatures on both curves.

MST (``mst.root``): the root CID of the tree that holds exactly the given entries, which the oracle
(:func:`atcheck.oracle.mst.build_mst`) computes from scratch. Entries are sent shuffled, so a library whose
tree depends on insertion order disagrees (REPO-MST-08). Key sets: the official ``mst/example_keys.txt``
(read in place), keys chosen to sit at heights 0 to 3 (a tree whose top must be trimmed, one with empty
intermediate nodes), long shared prefixes (prefix compression), the empty tree, leaf CIDs of every codec
kept as given; and keys that are not repo paths, which must be refused.

Signatures: the official ``crypto/signature-fixtures.json`` (low-S, high-S and DER forms on both curves) for
``crypto.verify``; seeded key pairs signing seeded messages, each signature sent as is (valid), as its high-S
twin, DER-encoded, over another message and under another key (all invalid); malformed did:keys; and
``crypto.sign`` on both curves, whose signatures the oracle verifies, low-S included. Keys and messages are
seeded; ECDSA nonces are random, so signature bytes differ between runs, never a case's verdict.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from atcheck.libs.case import Case, Expect
from atcheck.libs.cases_data import b64
from atcheck.oracle.cid import CID, DAG_CBOR, RAW, compute_cid
from atcheck.oracle.crypto import PrivateKey, b58decode, b58encode
from atcheck.oracle.mst import build_mst, key_height

SEED = 20260605
_COLLECTIONS = ["app.bsky.feed.post", "app.bsky.feed.like", "com.example.record", "com.example.a"]


def _leaf(n: int, codec: int = DAG_CBOR) -> CID:
    return compute_cid(json.dumps({"n": n}).encode(), codec)


def _mst_case(entries: dict[str, CID], row: str, source: str, rng: random.Random, why: str = "") -> Case:
    root, _ = build_mst(entries)
    pairs = [[key, str(cid)] for key, cid in entries.items()]
    rng.shuffle(pairs)
    return Case("mst.root", {"entries": pairs}, "equal", row, source, value=str(root), why=why)


def _keys_at_height(height: int, count: int, prefix: str = "com.example.record/") -> list[str]:
    found: list[str] = []
    n = 0
    while len(found) < count:
        key = f"{prefix}k{n:06d}"
        if key_height(key) == height:
            found.append(key)
        n += 1
    return found


def mst_vector_cases(vectors: Path) -> list[Case]:
    text = (vectors / "mst" / "example_keys.txt").read_text(encoding="utf-8")
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    rng = random.Random(SEED)
    cases = []
    for size in (1, 2, 5, 10, 50, 100, len(keys)):
        chosen = keys[:size]
        entries = {key: _leaf(i) for i, key in enumerate(chosen)}
        source = f"vector mst/example_keys.txt (first {size} keys)"
        cases.append(_mst_case(entries, "REPO-MST-02", source, rng, f"{size} keys"))
    return cases


def mst_rule_cases() -> list[Case]:
    rng = random.Random(SEED + 1)
    cases = [_mst_case({}, "REPO-MST-06", "rule REPO-MST-06", rng, "the empty tree")]
    one = {_keys_at_height(0, 1)[0]: _leaf(1)}
    cases.append(_mst_case(one, "REPO-MST-04", "rule REPO-MST-04 #1", rng, "one key at height 0"))
    high = _keys_at_height(2, 1)[0]
    cases.append(
        _mst_case({high: _leaf(2)}, "REPO-MST-07", "rule REPO-MST-07 #1", rng, "one key at height 2")
    )
    low = _keys_at_height(0, 3)
    mixed = {k: _leaf(i) for i, k in enumerate([*low, high])}
    cases.append(
        _mst_case(mixed, "REPO-MST-07", "rule REPO-MST-07 #2", rng, "height-2 key over height-0 keys")
    )
    gap = {k: _leaf(i) for i, k in enumerate([*_keys_at_height(0, 4), *_keys_at_height(3, 1)])}
    cases.append(_mst_case(gap, "REPO-MST-07", "rule REPO-MST-07 #3", rng, "empty intermediate nodes"))
    prefixed = {f"com.example.record/{'a' * n}{c}": _leaf(n) for n in range(1, 30, 3) for c in "xyz"}
    cases.append(_mst_case(prefixed, "REPO-MST-05", "rule REPO-MST-05 #1", rng, "long shared prefixes"))
    across = {f"{coll}/3jzfcijpj2z2{c}": _leaf(i) for i, coll in enumerate(_COLLECTIONS) for c in "abc"}
    cases.append(_mst_case(across, "REPO-MST-03", "rule REPO-MST-03 #1", rng, "keys across collections"))
    utf8 = {
        "com.example.record/a~b": _leaf(1),
        "com.example.record/a.b": _leaf(2),
        "com.example.record/A": _leaf(3),
    }
    cases.append(_mst_case(utf8, "REPO-MST-03", "rule REPO-MST-03 #2", rng, "bytewise order of punctuation"))
    deep = {
        k: _leaf(i)
        for i, k in enumerate([*_keys_at_height(0, 6), *_keys_at_height(1, 3), *_keys_at_height(2, 2)])
    }
    cases.append(
        _mst_case(
            deep, "REPO-MST-11", "rule REPO-MST-11 #1", rng, "node-to-node links of a 3-level tree, blessed"
        )
    )
    kept = {
        "com.example.record/raw": _leaf(1, RAW),
        "com.example.record/cbor": _leaf(2, DAG_CBOR),
        "com.example.record/sha512": CID.build(DAG_CBOR, hashlib.sha512(b"x").digest(), hash_code=0x13),
    }
    cases.append(_mst_case(kept, "REPO-MST-12", "rule REPO-MST-12 #1", rng, "leaf CIDs of other codecs kept"))
    for i, bad in enumerate(
        [
            "nocollection",
            "/com.example.record/abc",
            "com.example.record/abc/def",
            "com.example.record/",
            "/abc",
        ],
        start=1,
    ):
        entries = [[bad, str(_leaf(i))], ["com.example.record/ok", str(_leaf(99))]]
        cases.append(
            Case(
                "mst.root",
                {"entries": entries},
                "refuse",
                "REPO-MST-01",
                f"rule REPO-MST-01 #{i}",
                why=repr(bad),
            )
        )
    return cases


def mst_generated_cases(count: int = 40, seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        size = rng.choice([1, 2, 3, 8, 20, 60, 150, 400])
        entries = {}
        for _ in range(size):
            key = f"{rng.choice(_COLLECTIONS)}/{''.join(rng.choice('abcdefghij234567') for _ in range(13))}"
            entries[key] = _leaf(rng.randrange(1 << 30), rng.choice([DAG_CBOR, DAG_CBOR, RAW]))
        source = f"generated (seed {seed}, tree #{n})"
        cases.append(_mst_case(entries, "REPO-MST-08", source, rng, f"{len(entries)} keys, shuffled"))
    return cases


# -- signatures ----------------------------------------------------------------------------------------

_VECTOR_ROWS = {"high-s": "CRY-SIG-02", "der-encoded": "CRY-SIG-03"}


def crypto_vector_cases(vectors: Path) -> list[Case]:
    cases = []
    path = vectors / "crypto" / "signature-fixtures.json"
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
        tags = item.get("tags") or []
        row = next((_VECTOR_ROWS[t] for t in tags if t in _VECTOR_ROWS), "CRY-ALG-01")
        args = {
            "did_key": item["publicKeyDid"],
            "message_b64": _pad(item["messageBase64"]),
            "signature_b64": _pad(item["signatureBase64"]),
        }
        expect: Expect = "accept" if item["validSignature"] else "reject"
        cases.append(
            Case(
                "crypto.verify",
                args,
                expect,
                row,
                f"vector crypto/signature-fixtures.json #{i}",
                why=item.get("comment", ""),
            )
        )
    for curve, name in (("k256", "w3c_didkey_K256.json"), ("p256", "w3c_didkey_P256.json")):
        for i, item in enumerate(
            json.loads((vectors / "crypto" / name).read_text(encoding="utf-8")), start=1
        ):
            secret = (
                bytes.fromhex(item["privateKeyBytesHex"])
                if "privateKeyBytesHex" in item
                else b58decode(item["privateKeyBytesBase58"])
            )
            message = f"atcheck {curve} #{i}".encode()
            source = f"vector crypto/{name} #{i}"
            key = PrivateKey.from_bytes(curve, secret)  # type: ignore[arg-type]
            if key.public.did_key != item["publicDidKey"]:
                continue  # the oracle's own vector test reports this; not the library's fault
            cases.append(_sign_case(curve, secret, message, item["publicDidKey"], "CRY-KEY-02", source))
            args = {
                "did_key": item["publicDidKey"],
                "message_b64": b64(message),
                "signature_b64": b64(key.sign(message)),
            }
            cases.append(
                Case("crypto.verify", args, "accept", "CRY-KEY-01", source, why="did:key of the vector")
            )
    return cases


def _pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def _sign_case(curve: str, secret: bytes, message: bytes, did_key: str, row: str, source: str) -> Case:
    args = {"alg": curve, "message_b64": b64(message), "private_key_hex": secret.hex()}
    return Case("crypto.sign", args, "signature", row, source, value=did_key, why=f"{curve} signature")


def _der(signature: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))


def _bad_did_keys(key: PrivateKey) -> list[tuple[str, str]]:
    good = key.public.did_key
    body = good.removeprefix("did:key:z")
    return [
        ("did:key:" + "m" + body, "not base58btc multibase ('m' prefix)"),
        ("did:key:z" + b58encode(b"\xed\x01" + bytes(32)), "ed25519 multicodec"),
        ("did:key:z" + b58encode(b"\xe7\x01" + bytes([2]) + bytes(31)), "k256 key one byte short"),
        ("did:key:z" + b58encode(b"\xe7\x01" + bytes([2]) + b"\xff" * 32), "k256 point not on the curve"),
        ("did:key:z" + b58encode(b"\x80\x24" + bytes([5]) + bytes(32)), "p256 key with a bad point prefix"),
        (good.replace("did:key:", "did:KEY:"), "uppercase did:key prefix"),
    ]


def crypto_generated_cases(count: int = 24, seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for n in range(count):
        curve = "k256" if n % 2 == 0 else "p256"
        secret = bytes(rng.randrange(256) for _ in range(32))
        key = PrivateKey.from_bytes(curve, secret)  # type: ignore[arg-type]
        other = PrivateKey.from_bytes(curve, bytes(rng.randrange(256) for _ in range(32)))  # type: ignore[arg-type]
        message = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 32, 200])))
        signature = key.sign(message)
        source = f"generated (seed {seed}, {curve} key #{n})"
        did = key.public.did_key

        def verify(
            sig: bytes,
            row: str,
            expect: Expect,
            why: str,
            msg: bytes = message,
            did_key: str = did,
            source: str = source,
        ) -> Case:
            args = {"did_key": did_key, "message_b64": b64(msg), "signature_b64": b64(sig)}
            return Case("crypto.verify", args, expect, row, source, why=why)

        cases += [
            verify(signature, "CRY-ALG-01", "accept", f"{curve} low-S signature"),
            verify(key.sign(message, low_s=False), "CRY-SIG-02", "reject", f"{curve} high-S twin"),
            verify(_der(signature), "CRY-SIG-03", "reject", f"{curve} DER-encoded"),
            verify(signature, "CRY-SIG-04", "reject", "another message", msg=message + b"!"),
            verify(signature, "CRY-SIG-04", "reject", "another key", did_key=other.public.did_key),
            verify(
                key.sign(hashlib.sha256(message).hexdigest().encode()),
                "CRY-SIG-01",
                "reject",
                "signed the hex of the hash",
            ),
            _sign_case(curve, secret, message, did, "CRY-SIG-02", source),
        ]
        if n < 2:
            for bad, why in _bad_did_keys(key):
                cases.append(verify(signature, "CRY-KEY-04", "reject", why, did_key=bad))
    return cases
