"""verify_repo_car and verify_record_proof on repos built in-process, then corrupted one way at a time.

Every negative asserts the *reason* in the message, so a verifier that fails for an unrelated cause (or only
at the final root comparison) does not pass.
"""

from __future__ import annotations

from typing import Any

import pytest

from atcheck.oracle.build import BuiltRepo, build_repo, sign_commit
from atcheck.oracle.car import write_car
from atcheck.oracle.cbor import decode_strict, encode
from atcheck.oracle.cid import CID, DAG_CBOR, compute_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.mst import key_height
from atcheck.oracle.repo import verify_record_proof, verify_repo_car

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
POST = "app.bsky.feed.post"


def _post(i: int) -> dict[str, Any]:
    return {"$type": POST, "text": f"post {i}", "createdAt": "2024-01-01T00:00:00.000Z"}


def _paths(n: int, height: int | None = None) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < n:
        path = f"{POST}/3l4qyfbb{i:05d}"
        if height is None or key_height(path) == height:
            out.append(path)
        i += 1
    return out


@pytest.fixture(scope="module", params=["k256", "p256"])
def key(request: pytest.FixtureRequest) -> PrivateKey:
    return PrivateKey.generate(request.param)


def _repo(key: PrivateKey, n: int = 40, height: int | None = None) -> BuiltRepo:
    return build_repo(DID, {p: _post(i) for i, p in enumerate(_paths(n, height))}, key)


def test_valid_repo_passes(key: PrivateKey) -> None:
    repo = _repo(key)
    verified = verify_repo_car(repo.car(), did=DID, signing_key=key.public.did_key)
    assert verified.commit.signature_verified
    assert verified.commit.did == DID and verified.commit.rev == "3l4qyfbbfj22c"
    assert verified.record_count == 40
    assert list(verified.records) == sorted(verified.records)
    assert verified.records[_paths(1)[0]][1]["text"] == "post 0"
    assert verified.record_json(_paths(1)[0])["$type"] == POST
    assert verified.block_count == len(repo.blocks)
    assert verified.mst_node_count == len(repo.blocks) - 41
    assert verified.unreferenced_blocks == 0
    assert verify_repo_car(repo.car()).commit.signature_verified is False
    verify_repo_car(repo.car(), signing_key=key.public.multikey)


def test_empty_repo(key: PrivateKey) -> None:
    repo = build_repo(DID, {}, key)
    assert verify_repo_car(repo.car(), signing_key=key.public).record_count == 0


def test_extra_blocks_are_counted_not_failed(key: PrivateKey) -> None:
    repo = _repo(key, 5)
    stray = encode({"$type": POST, "text": "orphan"})
    repo.blocks[compute_cid(stray)] = stray
    assert verify_repo_car(repo.car()).unreferenced_blocks == 1


# --- commit-level negatives -----------------------------------------------------------------------------


def _recommit(repo: BuiltRepo, key: PrivateKey, **changes: Any) -> bytes:
    unsigned = {k: v for k, v in repo.commit.items() if k != "sig"}
    for name, value in changes.items():
        if value is _DROP:
            del unsigned[name]
        else:
            unsigned[name] = value
    repo.replace_commit(sign_commit(unsigned, key))
    return repo.car()


_DROP = object()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"version": 2}, "version 2, not 3"),
        ({"prev": _DROP}, "lacks ['prev']"),
        ({"rev": "3l4qyfbbfj22"}, "rev: invalid TID"),
        ({"rev": 3}, "'rev' is not a string"),
        ({"did": "did:plc:" + "a" * 24}, "is for did:plc:aaaa"),
        ({"did": "DID:plc:x"}, "invalid DID"),
        ({"did": "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ"}, "not a normalised did:plc"),
        ({"did": "did:web:Example.com"}, "not a normalised \\(lowercase\\) did:web"),
        ({"extra": 1}, "unexpected fields ['extra']"),
        ({"prev": "bafy"}, "'prev' is neither null"),
    ],
)
def test_commit_field_checks(key: PrivateKey, changes: dict[str, Any], problem: str) -> None:
    car = _recommit(_repo(key, 3), key, **changes)
    with pytest.raises(OracleError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        verify_repo_car(car, did=DID, signing_key=key.public)


def test_signature_checks(key: PrivateKey) -> None:
    repo = _repo(key, 3)
    other = PrivateKey.generate(key.curve)
    with pytest.raises(OracleError, match="signature does not verify"):
        verify_repo_car(repo.car(), signing_key=other.public)
    unsigned = {k: v for k, v in repo.commit.items() if k != "sig"}
    repo.replace_commit(sign_commit(unsigned, key, low_s=False))
    with pytest.raises(OracleError, match="high-S"):
        verify_repo_car(repo.car(), signing_key=key.public)
    repo.replace_commit({**unsigned, "sig": b"\x30" + bytes(70)})
    with pytest.raises(OracleError, match="DER-encoded"):
        verify_repo_car(repo.car(), signing_key=key.public)


def test_commit_missing_from_car(key: PrivateKey) -> None:
    repo = _repo(key, 3)
    blocks = [(c, b) for c, b in repo.blocks.items() if c != repo.commit_cid]
    with pytest.raises(OracleError, match=r"commit block .* is not in the CAR"):
        verify_repo_car(write_car([repo.commit_cid], blocks))


# --- block and record negatives -------------------------------------------------------------------------


def test_flipped_byte_in_any_block_is_caught(key: PrivateKey) -> None:
    car = _repo(key, 10).car()
    for offset in range(len(car) - 1, len(car) - 200, -7):
        mutated = bytearray(car)
        mutated[offset] ^= 0x40
        with pytest.raises(OracleError):
            verify_repo_car(bytes(mutated))


def test_missing_record_block(key: PrivateKey) -> None:
    repo = _repo(key, 5)
    gone = repo.records[_paths(5)[2]]
    del repo.blocks[gone]
    with pytest.raises(OracleError, match=rf"record {POST}/\S+ \({gone}\) is missing from the CAR"):
        verify_repo_car(repo.car())


def test_record_type_must_match_collection(key: PrivateKey) -> None:
    repo = build_repo(DID, {f"{POST}/3l4qyfbbaaaaa": {"$type": "app.bsky.feed.like"}}, key)
    with pytest.raises(OracleError, match="not its collection"):
        verify_repo_car(repo.car())


def test_non_canonical_record_bytes_are_caught_despite_matching_hash(key: PrivateKey) -> None:
    path = f"{POST}/3l4qyfbbaaaaa"
    repo = build_repo(DID, {path: {"$type": POST, "text": "x"}}, key)
    cid = repo.records[path]
    # the same map with "$type" before the shorter "text": stored under the CID of these very bytes, so
    # the hash check passes and only strict decoding can object
    bad = bytes.fromhex("a2") + encode("$type") + encode(POST) + encode("text") + encode("x")
    bad_cid = compute_cid(bad)
    node_cid = repo.commit["data"]
    node = decode_strict(repo.blocks[node_cid])
    node["e"][0]["v"] = bad_cid
    car = _with_root_node(repo, key, node, drop=[cid, node_cid], add={bad_cid: bad})
    with pytest.raises(OracleError, match=r"record .* out of canonical order"):
        verify_repo_car(car)


# --- MST negatives (single-node trees: all keys at height 0) ---------------------------------------------


def _with_root_node(
    repo: BuiltRepo,
    key: PrivateKey,
    node: Any,
    *,
    drop: list[CID] | None = None,
    add: dict[CID, bytes] | None = None,
    raw: bytes | None = None,
) -> bytes:
    data = raw if raw is not None else encode(node)
    cid = compute_cid(data, DAG_CBOR)
    for gone in drop or [repo.commit["data"]]:
        repo.blocks.pop(gone, None)
    repo.blocks[cid] = data
    repo.blocks.update(add or {})
    return _recommit(repo, key, data=cid)


def _flat(key: PrivateKey, n: int = 4) -> tuple[BuiltRepo, Any]:
    repo = _repo(key, n, height=0)
    node = decode_strict(repo.blocks[repo.commit["data"]])
    assert node["l"] is None and len(node["e"]) == n
    return repo, node


def test_swapped_entries(key: PrivateKey) -> None:
    repo, node = _flat(key)
    first, second = node["e"][0], node["e"][1]
    k1 = first["k"]
    k2 = k1[: second["p"]] + second["k"]
    node["e"][0] = {**first, "k": k2}
    node["e"][1] = {**second, "k": k1[second["p"] :]}
    with pytest.raises(OracleError, match="does not sort after"):
        verify_repo_car(_with_root_node(repo, key, node))


def test_prefix_compression_must_be_exact(key: PrivateKey) -> None:
    repo, node = _flat(key)
    prev = node["e"][0]["k"]
    second = node["e"][1]
    node["e"][1] = {**second, "p": 0, "k": prev[: second["p"]] + second["k"]}
    with pytest.raises(OracleError, match="prefix compression must be exact"):
        verify_repo_car(_with_root_node(repo, key, node))


def test_first_entry_must_have_zero_prefix(key: PrivateKey) -> None:
    repo, node = _flat(key)
    node["e"][0] = {**node["e"][0], "p": 1}
    with pytest.raises(OracleError, match="first entry must carry its full key"):
        verify_repo_car(_with_root_node(repo, key, node))


def test_explicit_nulls_required(key: PrivateKey) -> None:
    repo, node = _flat(key)
    del node["e"][0]["t"]
    with pytest.raises(OracleError, match="exactly p, k, v, t"):
        verify_repo_car(_with_root_node(repo, key, node))
    repo, node = _flat(key)
    del node["l"]
    with pytest.raises(OracleError, match="exactly the fields 'e' and 'l'"):
        verify_repo_car(_with_root_node(repo, key, node))


def test_key_at_the_wrong_height(key: PrivateKey) -> None:
    repo, node = _flat(key)
    high = _paths(1, height=1)[0]
    value = repo.records[_paths(1, height=0)[0]]
    entries = [(node["e"][0]["k"], node["e"][0]["v"])]
    keys = sorted([entries[0][0], high.encode()])
    node = {"e": [], "l": None}
    prev = b""
    for k in keys:
        p = next((i for i in range(min(len(prev), len(k))) if prev[i] != k[i]), min(len(prev), len(k)))
        node["e"].append({"k": k[p:], "p": p, "t": None, "v": value})
        prev = k
    with pytest.raises(OracleError, match="has height 1, not the node's 0"):
        verify_repo_car(_with_root_node(repo, key, node))


def test_root_that_only_points_down(key: PrivateKey) -> None:
    repo, _ = _flat(key)
    real_root = repo.commit["data"]
    with pytest.raises(OracleError, match="empty node that only points to a subtree"):
        verify_repo_car(_with_root_node(repo, key, {"e": [], "l": real_root}, drop=[]))


def test_empty_leaf_node_is_rejected(key: PrivateKey) -> None:
    repo = _repo(key, 30)
    empty = encode({"e": [], "l": None})
    empty_cid = compute_cid(empty)
    root = decode_strict(repo.blocks[repo.commit["data"]])
    assert root["l"] is not None
    root["l"] = empty_cid
    with pytest.raises(OracleError, match="empty node with no subtree"):
        verify_repo_car(_with_root_node(repo, key, root, add={empty_cid: empty}))


def test_non_canonical_node_bytes(key: PrivateKey) -> None:
    repo, node = _flat(key, 2)
    raw = bytes.fromhex("a2") + encode("l") + encode(None) + encode("e") + encode(node["e"])
    with pytest.raises(OracleError, match=r"MST node .* out of canonical order"):
        verify_repo_car(_with_root_node(repo, key, node, raw=raw))


def test_unblessed_node_link(key: PrivateKey) -> None:
    repo, node = _flat(key, 2)
    node["l"] = CID.build(0x55, bytes(32))
    with pytest.raises(OracleError, match="not a blessed dag-cbor"):
        verify_repo_car(_with_root_node(repo, key, node))


# --- record proofs --------------------------------------------------------------------------------------


def _proof_car(repo: BuiltRepo, path: str) -> bytes:
    """Only the blocks on the search path, as sync.getRecord returns them."""
    from atcheck.oracle.mst import find_key

    cid, nodes = find_key(repo.commit["data"], path, repo.blocks.get)
    blocks = [(repo.commit_cid, repo.blocks[repo.commit_cid])] + [(n, repo.blocks[n]) for n in nodes]
    if cid is not None:
        blocks.append((cid, repo.blocks[cid]))
    return write_car([repo.commit_cid], blocks)


def test_record_proofs(key: PrivateKey) -> None:
    repo = _repo(key, 60)
    path = _paths(60)[17]
    collection, rkey = path.split("/")
    proof = verify_record_proof(_proof_car(repo, path), DID, collection, rkey, key.public.did_key)
    assert proof.exists and proof.cid == repo.records[path]
    assert proof.value is not None and proof.value["text"] == "post 17"
    assert proof.commit.signature_verified
    absent = "3l4qyfbbzzzzz"
    proof = verify_record_proof(_proof_car(repo, f"{POST}/{absent}"), DID, POST, absent, key.public)
    assert not proof.exists and proof.value is None and proof.proof_nodes


def test_record_proof_negatives(key: PrivateKey) -> None:
    repo = _repo(key, 60)
    path = _paths(60)[17]
    collection, rkey = path.split("/")
    only_commit = write_car([repo.commit_cid], [(repo.commit_cid, repo.blocks[repo.commit_cid])])
    with pytest.raises(OracleError, match="proof is incomplete"):
        verify_record_proof(only_commit, DID, collection, rkey, key.public)
    car = _proof_car(repo, path)
    without_record = write_car(
        [repo.commit_cid],
        [(c, b) for c, b in repo.blocks.items() if c != repo.records[path]],
    )
    with pytest.raises(OracleError, match="missing from the CAR"):
        verify_record_proof(without_record, DID, collection, rkey, key.public)
    with pytest.raises(OracleError, match="is for"):
        verify_record_proof(car, "did:plc:other", collection, rkey, key.public)
    with pytest.raises(OracleError, match=r"invalid NSID"):
        verify_record_proof(car, DID, "not-an-nsid", rkey, key.public)


def test_records_are_held_to_the_data_model(key: PrivateKey) -> None:
    blob = {"$type": "blob", "ref": CID.build(0x55, bytes(32)), "mimeType": "image/png", "size": 0}
    repo = build_repo(DID, {f"{POST}/3l4qyfbbaaaaa": {"$type": POST, "embed": {"image": blob}}}, key)
    with pytest.raises(OracleError, match=r"record app\.bsky\.feed\.post/3l4qyfbbaaaaa: .*must be positive"):
        verify_repo_car(repo.car())
