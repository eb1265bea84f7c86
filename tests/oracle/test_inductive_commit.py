"""Inductive commit verification: invert a commit's ops on the partial tree its blocks carry.

The official firehose vectors say which MST blocks a commit must carry; inverting with *only* those blocks
must reach the root before the commit. Properties check the partial-tree edits against full rebuilds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atcheck.oracle.build import build_repo
from atcheck.oracle.car import write_car
from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import CID, compute_cid, parse_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.inductive import CommitOp, PartialTree, invert_ops, verify_commit_event
from atcheck.oracle.mst import build_mst
from atcheck.paths import vectors_dir

PROOFS = json.loads((vectors_dir() / "firehose" / "commit-proof-fixtures.json").read_text())


def _ops(case: dict[str, Any], leaf: CID) -> list[CommitOp]:
    return [CommitOp("create", k, leaf, None) for k in case["adds"]] + [
        CommitOp("delete", k, None, leaf) for k in case["dels"]
    ]


@pytest.mark.parametrize("case", PROOFS, ids=[c["comment"] for c in PROOFS])
def test_inverting_with_only_the_proof_blocks(case: dict[str, Any]) -> None:
    leaf = parse_cid(case["leafValue"])
    records = dict.fromkeys(case["keys"], leaf)
    records.update(dict.fromkeys(case["adds"], leaf))
    for key in case["dels"]:
        del records[key]
    after, after_blocks = build_mst(records)
    proof = {c: after_blocks[c] for c in map(parse_cid, case["blocksInProof"]) if c in after_blocks}
    before = invert_ops(after, _ops(case, leaf), proof.get)
    assert str(before) == case["rootBeforeCommit"]


def test_missing_proof_block_is_named() -> None:
    case = PROOFS[0]
    leaf = parse_cid(case["leafValue"])
    records = dict.fromkeys(case["keys"] + case["adds"], leaf)
    after, blocks = build_mst(records)
    with pytest.raises(OracleError, match="the blocks lack MST node"):
        invert_ops(after, _ops(case, leaf), {after: blocks[after]}.get)


# --- properties against full rebuilds -------------------------------------------------------------------

LEAF = compute_cid(encode({"$type": "x.y.z"}))
OTHER = compute_cid(encode({"$type": "x.y.z", "v": 2}))
keys = st.sets(st.from_regex(r"com\.ex\.c[a-c]/[a-z0-9]{1,6}", fullmatch=True), max_size=60)


@settings(max_examples=60, deadline=None)
@given(keys, keys, st.data())
def test_edits_match_rebuilds(before_keys: set[str], new_keys: set[str], data: st.DataObject) -> None:
    before = dict.fromkeys(before_keys, LEAF)
    dels = data.draw(st.sets(st.sampled_from(sorted(before_keys)))) if before_keys else set()
    updates = data.draw(st.sets(st.sampled_from(sorted(before_keys - dels)))) if before_keys - dels else set()
    adds = new_keys - before_keys
    after = {k: v for k, v in before.items() if k not in dels}
    after.update(dict.fromkeys(updates, OTHER))
    after.update(dict.fromkeys(adds, LEAF))
    before_root, before_blocks = build_mst(before)
    after_root, after_blocks = build_mst(after)

    ops = (
        [CommitOp("create", k, LEAF, None) for k in adds]
        + [CommitOp("delete", k, None, LEAF) for k in dels]
        + [CommitOp("update", k, OTHER, LEAF) for k in updates]
    )
    assert invert_ops(after_root, ops, after_blocks.get) == before_root

    forward = PartialTree(before_root, before_blocks.get)
    for k in adds:
        forward.insert(k, LEAF)
    for k in dels:
        forward.delete(k)
    for k in updates:
        forward.set(k, OTHER)
    assert forward.root_cid() == after_root
    for k in list(after)[:5]:
        assert forward.get(k) == after[k]


# --- whole events ---------------------------------------------------------------------------------------

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
POST = "app.bsky.feed.post"


def _event(key: PrivateKey) -> tuple[bytes, list[dict[str, Any]], CID, CID]:
    old = {f"{POST}/3l4qyfbb{i:05d}": {"$type": POST, "text": str(i)} for i in range(30)}
    before = build_repo(DID, old, key)
    new = dict(old)
    new[f"{POST}/3l4qyfbzzzzzz"] = {"$type": POST, "text": "new"}
    new[f"{POST}/3l4qyfbb00003"] = {"$type": POST, "text": "changed"}
    del new[f"{POST}/3l4qyfbb00007"]
    after = build_repo(DID, new, key, rev="3l4qyfbbfj23c")
    created = after.records[f"{POST}/3l4qyfbzzzzzz"]
    updated = after.records[f"{POST}/3l4qyfbb00003"]
    ops: list[dict[str, Any]] = [
        {"action": "create", "path": f"{POST}/3l4qyfbzzzzzz", "cid": created, "prev": None},
        {
            "action": "update",
            "path": f"{POST}/3l4qyfbb00003",
            "cid": updated,
            "prev": before.records[f"{POST}/3l4qyfbb00003"],
        },
        {
            "action": "delete",
            "path": f"{POST}/3l4qyfbb00007",
            "cid": None,
            "prev": before.records[f"{POST}/3l4qyfbb00007"],
        },
    ]
    # the slice: commit, the new MST nodes, the new records
    new_nodes = [c for c in after.blocks if c not in before.blocks]
    car = write_car([after.commit_cid], [(c, after.blocks[c]) for c in [after.commit_cid, *new_nodes]])
    return car, ops, before.commit["data"], after.commit_cid


def test_commit_event_verifies() -> None:
    key = PrivateKey.generate("k256")
    car, ops, prev_data, commit_cid = _event(key)
    event = verify_commit_event(car, ops, prev_data, did=DID, signing_key=key.public, commit_cid=commit_cid)
    assert event.commit.signature_verified
    assert event.records[f"{POST}/3l4qyfbzzzzzz"]["text"] == "new"


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda ops: ops[:2], "inverting the ops gives MST root"),
        (lambda ops: [{**ops[0], "cid": ops[1]["cid"]}, *ops[1:]], "the tree holds"),
        (lambda ops: [*ops[:2], {**ops[2], "prev": None}], "no 'prev' CID"),
        (lambda ops: [{**ops[0], "action": "upsert"}], "is not create, update or delete"),
        (lambda ops: [*ops, {**ops[2], "path": f"{POST}/3l4qyfbb00001"}], "still in the tree"),
    ],
    ids=["op left out", "wrong cid", "delete without prev", "bad action", "delete of a present key"],
)
def test_commit_event_negatives(tamper: Any, problem: str) -> None:
    key = PrivateKey.generate("p256")
    car, ops, prev_data, _ = _event(key)
    with pytest.raises(OracleError, match=problem):
        verify_commit_event(car, tamper(ops), prev_data, signing_key=key.public)


def test_commit_event_wrong_prev_data_and_commit() -> None:
    key = PrivateKey.generate("k256")
    car, ops, _, _ = _event(key)
    with pytest.raises(OracleError, match="not the event's prevData"):
        verify_commit_event(car, ops, LEAF)
    with pytest.raises(OracleError, match="is not the CAR slice's root"):
        verify_commit_event(car, ops, None, commit_cid=LEAF)
    with pytest.raises(OracleError, match="signature does not verify"):
        verify_commit_event(car, ops, None, signing_key=PrivateKey.generate("k256").public)
