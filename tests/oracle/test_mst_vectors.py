"""MST heights, prefixes and roots against the official mst/ and firehose/ vectors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.oracle.cid import parse_cid
from atcheck.oracle.mst import build_mst, common_prefix_len, find_key, key_height, walk_mst
from atcheck.paths import vectors_dir


def _load(*parts: str) -> Any:
    return json.loads(vectors_dir().joinpath(*parts).read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", _load("mst", "key_heights.json"), ids=lambda c: repr(c["key"]))
def test_key_height(case: dict[str, Any]) -> None:
    assert key_height(case["key"]) == case["height"]


PREFIXES = _load("mst", "common_prefix.json")


@pytest.mark.parametrize("case", PREFIXES, ids=lambda c: f"{c['left']}|{c['right']}")
def test_common_prefix(case: dict[str, Any]) -> None:
    assert common_prefix_len(case["left"].encode(), case["right"].encode()) == case["len"]


PROOFS = _load("firehose", "commit-proof-fixtures.json")


@pytest.mark.parametrize("case", PROOFS, ids=[c["comment"] for c in PROOFS])
def test_commit_proof_roots(case: dict[str, Any]) -> None:
    leaf = parse_cid(case["leafValue"])
    records = dict.fromkeys(case["keys"], leaf)
    before, before_blocks = build_mst(records)
    assert str(before) == case["rootBeforeCommit"]
    for key in case["adds"]:
        records[key] = leaf
    for key in case["dels"]:
        del records[key]
    after, after_blocks = build_mst(records)
    assert str(after) == case["rootAfterCommit"]
    # every node the commit creates must be among the blocks the proof carries
    assert set(after_blocks) - set(before_blocks) <= {parse_cid(c) for c in case["blocksInProof"]}
    walk = walk_mst(after, after_blocks.get, check_paths=False)
    assert [k for k, _ in walk.records] == sorted(records)
    for key in case["adds"]:
        assert find_key(after, key, after_blocks.get)[0] == leaf
    for key in case["dels"]:
        assert find_key(after, key, after_blocks.get)[0] is None


def test_example_keys_walk_back_in_order() -> None:
    keys = (vectors_dir() / "mst" / "example_keys.txt").read_text().split()
    leaf = parse_cid("bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454")
    root, blocks = build_mst(dict.fromkeys(keys, leaf))
    walk = walk_mst(root, blocks.get, check_paths=False)
    assert [k for k, _ in walk.records] == sorted(keys)
    assert len(walk.nodes) == len(blocks)
    assert walk.height == max(key_height(k) for k in keys)


def test_empty_tree() -> None:
    root, blocks = build_mst({})
    assert blocks[root] == bytes.fromhex("a2616580616cf6")  # {"e": [], "l": null}
    assert walk_mst(root, blocks.get).records == []


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_common_prefix_fast_path_agrees_with_the_definition(a: bytes, b: bytes) -> None:
    naive = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    assert common_prefix_len(a, b) == naive
    assert common_prefix_len(a, a + b) == len(a)
