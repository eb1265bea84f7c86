"""Build signed repositories in-process: fixtures for oracle self-tests, negatives, and the rate benchmark.

This is the oracle's own, independent writer (canonical DAG-CBOR, the MST rebuilt from scratch, a low-S
signature), so a CAR it writes must pass :func:`atcheck.oracle.repo.verify_repo_car`, and a CAR it writes
and then corrupts must not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from atcheck.oracle.car import write_car
from atcheck.oracle.cbor import Value, encode
from atcheck.oracle.cid import CID, DAG_CBOR, compute_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.mst import build_mst

__all__ = ["BuiltRepo", "build_repo", "sign_commit"]


@dataclass
class BuiltRepo:
    """A repo's parts, open for tampering before :meth:`car` serialises them."""

    did: str
    key: PrivateKey
    commit: dict[str, Value]
    commit_cid: CID
    blocks: dict[CID, bytes]
    """Every block: commit, MST nodes, records."""
    records: dict[str, CID]

    def car(self, roots: list[CID] | None = None) -> bytes:
        order = [self.commit_cid, *(c for c in self.blocks if c != self.commit_cid)]
        return write_car(roots or [self.commit_cid], ((c, self.blocks[c]) for c in order))

    def replace_commit(self, commit: dict[str, Value]) -> None:
        """Swap in a different commit object (already signed or deliberately not)."""
        del self.blocks[self.commit_cid]
        data = encode(commit)
        self.commit = commit
        self.commit_cid = compute_cid(data, DAG_CBOR)
        self.blocks[self.commit_cid] = data


def sign_commit(unsigned: dict[str, Value], key: PrivateKey, *, low_s: bool = True) -> dict[str, Value]:
    return {**unsigned, "sig": key.sign(encode(unsigned), low_s=low_s)}


def build_repo(
    did: str,
    records: Mapping[str, Value],
    key: PrivateKey,
    *,
    rev: str = "3l4qyfbbfj22c",
    prev: CID | None = None,
) -> BuiltRepo:
    """A signed v3 repo holding ``records`` (``"collection/rkey"`` -> record value in the data model)."""
    blocks: dict[CID, bytes] = {}
    record_cids: dict[str, CID] = {}
    for path, value in records.items():
        data = encode(value)
        cid = compute_cid(data, DAG_CBOR)
        blocks[cid] = data
        record_cids[path] = cid
    root, nodes = build_mst(record_cids)
    blocks.update(nodes)
    unsigned: dict[str, Value] = {"did": did, "version": 3, "data": root, "rev": rev, "prev": prev}
    commit = sign_commit(unsigned, key)
    commit_bytes = encode(commit)
    commit_cid = compute_cid(commit_bytes, DAG_CBOR)
    blocks[commit_cid] = commit_bytes
    return BuiltRepo(did, key, commit, commit_cid, blocks, record_cids)
