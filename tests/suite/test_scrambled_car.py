"""scrambled_car writes the same repository differently, and only as the CAR rules allow."""

from __future__ import annotations

from atcheck.oracle.car import read_car, write_car
from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import compute_cid
from atcheck.suite.migration import scrambled_car


def test_same_roots_and_blocks_reversed_with_a_duplicate_and_an_extra() -> None:
    commit, node = encode({"commit": 1}), encode({"node": 2})
    roots = [compute_cid(commit)]
    original = write_car(roots, [(roots[0], commit), (compute_cid(node), node)])
    scrambled = read_car(scrambled_car(original))
    assert scrambled.roots == roots
    assert scrambled.duplicates == 1
    blocks = list(scrambled.blocks)
    assert blocks[:2] == [compute_cid(node), roots[0]]  # reversed
    assert len(blocks) == 3  # plus one block nothing references
    assert scrambled_car(original) != original
