"""Inductive verification of a firehose commit: invert its operations on the partial tree it carries.

A ``#commit`` event (sync v1.1) ships a CAR slice with the signed commit and only the MST nodes the change
touched, plus its ``ops`` (with each op's ``prev`` record CID) and ``prevData`` (the MST root before). A
consumer that holds nothing else can still check the event: apply the inverse of every op to the tree
rooted at the commit's ``data``, using only the blocks in the slice, and arrive exactly at ``prevData``.
If the slice lacks a node that the inversion must open, the event is incomplete; if the result differs,
the ops or the blocks are wrong.

The tree here is *partial*: subtrees not in the slice stay as CID stubs and are only opened when an edit
needs them. Edits follow the MST's definition (a key lives at the height given by its hash; inserting a
key splits the subtree it lands in, deleting one merges its neighbours; empty nodes are pruned at the
bottom and the top), so the result is the canonical tree for the edited key set.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from atcheck.oracle.car import read_car
from atcheck.oracle.cbor import Value, decode_strict
from atcheck.oracle.cid import CID, DAG_CBOR, compute_cid
from atcheck.oracle.crypto import PublicKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.mst import _height, _node_bytes, decode_node, key_height
from atcheck.oracle.repo import Commit, check_commit

__all__ = ["CommitOp", "PartialTree", "VerifiedCommitEvent", "invert_ops", "verify_commit_event"]

GetBlock = Callable[[CID], bytes | None]


@dataclass(frozen=True)
class CommitOp:
    """One repo operation of a commit event: ``cid`` after, ``prev`` before (None where it does not apply)."""

    action: str
    path: str
    cid: CID | None
    prev: CID | None

    @classmethod
    def from_event(cls, op: Mapping[str, Value]) -> CommitOp:
        action, path = op.get("action"), op.get("path")
        cid, prev = op.get("cid"), op.get("prev")
        if action not in ("create", "update", "delete"):
            raise OracleError(f"op action {action!r} is not create, update or delete")
        if not isinstance(path, str):
            raise OracleError("op path is not a string")
        if cid is not None and not isinstance(cid, CID):
            raise OracleError(f"op {path}: 'cid' is not a CID link or null")
        if prev is not None and not isinstance(prev, CID):
            raise OracleError(f"op {path}: 'prev' is not a CID link or null")
        return cls(action, path, cid, prev)


class _Node:
    """An opened node: ``subs[i]`` is the subtree left of ``keys[i]``; ``subs[-1]`` the rightmost.

    ``cid`` is the block it was opened from while it is unchanged (then serialising it is that CID, with no
    re-encoding: its bytes were hash-checked and strictly decoded, so they are the canonical encoding), and
    None once an edit touched it or anything below it.
    """

    __slots__ = ("cid", "keys", "subs", "vals")

    def __init__(self, subs: list[_Ref], keys: list[bytes], vals: list[CID], cid: CID | None = None) -> None:
        self.subs = subs
        self.keys = keys
        self.vals = vals
        self.cid = cid


_Ref = _Node | CID | None


class PartialTree:
    """An MST opened lazily from a block source; edited in place; serialised back to a root CID."""

    def __init__(self, root: CID, get_block: GetBlock) -> None:
        self._get = get_block
        self.blocks: dict[CID, bytes] = {}
        node = self._open(root, None)
        if not node.keys and node.subs[0] is not None:
            raise OracleError(f"MST root {root} is an empty node that only points to a subtree")
        self.height = key_height(node.keys[0]) if node.keys else 0
        for key in node.keys[1:]:  # the root's own keys: every node below is checked as it is opened
            if _height(key) != self.height:
                raise OracleError(f"MST root {root}: key {key!r} is not at the root's height {self.height}")
        if self.height == 0 and any(t is not None for t in node.subs):
            raise OracleError(f"MST root {root}: a height-0 node links to a subtree")
        self.root: _Ref = node if node.keys else None

    def _open(self, ref: _Ref, height: int | None) -> _Node:
        if isinstance(ref, _Node):
            return ref
        if ref is None:
            return _Node([None], [], [])
        data = self._get(ref)
        if data is None:
            raise OracleError(f"the blocks lack MST node {ref}, which the inversion needs to open")
        try:
            node = decode_node(data)
        except OracleError as exc:
            raise exc.within(f"MST node {ref}") from None
        keys = list(node.raw_keys)
        subs: list[_Ref] = [node.left, *(t for _, _, t in node.entries)]
        if height is not None:
            for key in keys:
                if _height(key) != height:
                    raise OracleError(f"MST node {ref}: key {key!r} is not at the node's height {height}")
            if not keys and node.left is None:
                raise OracleError(f"MST node {ref}: empty node with no subtree")
            if height == 0 and any(t is not None for t in subs):
                raise OracleError(f"MST node {ref}: a height-0 node links to a subtree")
        return _Node(subs, keys, [v for _, v, _ in node.entries], ref)

    # -- edits ------------------------------------------------------------------------------------------

    def get(self, key: str) -> CID | None:
        raw = key.encode("utf-8")
        if self.root is None:
            return None
        node = self._open(self.root, self.height)
        height = self.height
        while True:
            i = bisect_left(node.keys, raw)
            if i < len(node.keys) and node.keys[i] == raw:
                return node.vals[i]
            ref = node.subs[i]
            if ref is None or height == 0:
                return None
            height -= 1
            # kept opened in its parent, so the inversion that follows does not decode it again
            child = node.subs[i] = self._open(ref, height)
            node = child

    def insert(self, key: str, value: CID) -> None:
        raw = key.encode("utf-8")
        kh = key_height(raw)
        if self.root is None:
            self.root, self.height = _Node([None, None], [raw], [value]), kh
            return
        if kh > self.height:
            left, right = self._split(self.root, self.height, raw)
            self.root = _Node(
                [self._raise(left, self.height, kh - 1), self._raise(right, self.height, kh - 1)],
                [raw],
                [value],
            )
            self.height = kh
            return
        self.root = self._insert(self.root, self.height, raw, kh, value)

    def set(self, key: str, value: CID) -> None:
        if self.root is None:
            raise OracleError(f"cannot update {key}: the tree is empty")
        self.root = self._set(self.root, self.height, key.encode("utf-8"), value)

    def delete(self, key: str) -> None:
        raw = key.encode("utf-8")
        if self.root is None:
            raise OracleError(f"cannot delete {key}: the tree is empty")
        self.root = self._delete(self.root, self.height, raw, key_height(raw))
        # prune empty nodes from the top
        while self.root is not None:
            node = self._open(self.root, self.height)
            if node.keys:
                self.root = node
                break
            self.root, self.height = node.subs[0], self.height - 1
        if self.root is None:
            self.height = 0

    def _set(self, ref: _Ref, height: int, raw: bytes, value: CID) -> _Node:
        node = self._open(ref, height)
        i = bisect_left(node.keys, raw)
        if i < len(node.keys) and node.keys[i] == raw:
            node.vals[i] = value
        elif node.subs[i] is None:
            raise OracleError(f"cannot update {raw.decode()}: it is not in the tree")
        else:
            node.subs[i] = self._set(node.subs[i], height - 1, raw, value)
        node.cid = None
        return node

    def _raise(self, ref: _Ref, height: int, to: int) -> _Ref:
        while ref is not None and height < to:
            ref = _Node([ref], [], [])
            height += 1
        return ref

    def _insert(self, ref: _Ref, height: int, raw: bytes, kh: int, value: CID) -> _Node:
        node = self._open(ref, height)
        i = bisect_left(node.keys, raw)
        if i < len(node.keys) and node.keys[i] == raw:
            raise OracleError(f"cannot create {raw.decode()}: it is already in the tree")
        if kh == height:
            left, right = self._split(node.subs[i], height - 1, raw)
            node.keys.insert(i, raw)
            node.vals.insert(i, value)
            node.subs[i : i + 1] = [left, right]
        else:
            node.subs[i] = self._insert(node.subs[i], height - 1, raw, kh, value)
        node.cid = None
        return node

    def _split(self, ref: _Ref, height: int, raw: bytes) -> tuple[_Ref, _Ref]:
        if ref is None:
            return None, None
        node = self._open(ref, height)
        i = bisect_left(node.keys, raw)
        left_sub, right_sub = self._split(node.subs[i], height - 1, raw)
        left = _Node([*node.subs[:i], left_sub], node.keys[:i], node.vals[:i])
        right = _Node([right_sub, *node.subs[i + 1 :]], node.keys[i:], node.vals[i:])
        return _prune(left), _prune(right)

    def _delete(self, ref: _Ref, height: int, raw: bytes, kh: int) -> _Ref:
        if ref is None or height < kh:
            raise OracleError(f"cannot delete {raw.decode()}: it is not in the tree")
        node = self._open(ref, height)
        i = bisect_left(node.keys, raw)
        if kh == height:
            if i >= len(node.keys) or node.keys[i] != raw:
                raise OracleError(f"cannot delete {raw.decode()}: it is not in the tree")
            merged = self._merge(node.subs[i], node.subs[i + 1], height - 1)
            del node.keys[i], node.vals[i]
            node.subs[i : i + 2] = [merged]
        else:
            node.subs[i] = self._delete(node.subs[i], height - 1, raw, kh)
        node.cid = None
        return _prune(node)

    def _merge(self, a: _Ref, b: _Ref, height: int) -> _Ref:
        if a is None:
            return b
        if b is None:
            return a
        na, nb = self._open(a, height), self._open(b, height)
        middle = self._merge(na.subs[-1], nb.subs[0], height - 1)
        return _Node([*na.subs[:-1], middle, *nb.subs[1:]], na.keys + nb.keys, na.vals + nb.vals)

    # -- serialisation ----------------------------------------------------------------------------------

    def root_cid(self) -> CID:
        cid = self._serialise(self.root)
        return cid if cid is not None else self._store(_node_bytes(None, []))

    def _serialise(self, ref: _Ref) -> CID | None:
        if ref is None or isinstance(ref, CID):
            return ref
        if ref.cid is not None:  # opened and never edited: its own, verified block
            return ref.cid
        subs = [self._serialise(s) for s in ref.subs]
        entries = [(k, v, subs[i + 1]) for i, (k, v) in enumerate(zip(ref.keys, ref.vals, strict=True))]
        return self._store(_node_bytes(subs[0], entries))

    def _store(self, data: bytes) -> CID:
        cid = compute_cid(data, DAG_CBOR)
        self.blocks[cid] = data
        return cid


def _prune(node: _Node) -> _Ref:
    return None if not node.keys and node.subs == [None] else node


def invert_ops(root: CID, ops: Iterable[CommitOp], get_block: GetBlock) -> CID:
    """The MST root before ``ops``, computed from the root after them and the blocks ``get_block`` has."""
    return _invert(PartialTree(root, get_block), ops)


def _invert(tree: PartialTree, ops: Iterable[CommitOp]) -> CID:
    for op in ops:
        if op.action == "create":
            tree.delete(op.path)
        elif op.action == "update":
            if op.prev is None:
                raise OracleError(f"update of {op.path} has no 'prev' CID to invert to")
            tree.set(op.path, op.prev)
        else:
            if op.prev is None:
                raise OracleError(f"delete of {op.path} has no 'prev' CID to invert to")
            tree.insert(op.path, op.prev)
    return tree.root_cid()


@dataclass(frozen=True)
class VerifiedCommitEvent:
    commit: Commit
    ops: list[CommitOp]
    records: dict[str, Value]
    """The decoded records of creates and updates, by path."""


def verify_commit_event(
    blocks: bytes,
    ops: Iterable[Mapping[str, Value] | CommitOp],
    prev_data: CID | None,
    *,
    did: str | None = None,
    signing_key: PublicKey | str | None = None,
    commit_cid: CID | None = None,
) -> VerifiedCommitEvent:
    """Check a ``#commit`` event from its ``blocks`` (CAR slice), ``ops`` and ``prevData``.

    The slice's commit must be signed (when ``signing_key`` is given) and match ``commit_cid`` (the event's
    ``commit`` field) when given; every create and update must point at a record block in the slice and
    every delete must be absent after the commit; and inverting the ops must give ``prev_data``.
    """
    car = read_car(blocks)
    root = car.roots[0]
    if commit_cid is not None and root != commit_cid:
        raise OracleError(f"the event's commit {commit_cid} is not the CAR slice's root {root}")
    data = car.blocks.get(root)
    if data is None:
        raise OracleError(f"the commit block {root} is not in the event's blocks")
    commit = check_commit(root, data, did=did, signing_key=signing_key)
    parsed = [op if isinstance(op, CommitOp) else CommitOp.from_event(op) for op in ops]
    records: dict[str, Value] = {}
    # One partial tree serves the look-ups and then the inversion, so each node is opened (and checked) once.
    tree = PartialTree(commit.data, car.blocks.get)
    for op in parsed:
        found = tree.get(op.path)
        if op.action == "delete":
            if found is not None:
                raise OracleError(f"delete of {op.path}: the key is still in the tree after the commit")
            continue
        if op.cid is None or found != op.cid:
            raise OracleError(f"{op.action} of {op.path}: the tree holds {found}, the op says {op.cid}")
        block = car.blocks.get(op.cid)
        if block is None:
            raise OracleError(f"{op.action} of {op.path}: record block {op.cid} is not in the event's blocks")
        try:
            records[op.path] = decode_strict(block, blessed_links=False)
        except OracleError as exc:
            raise exc.within(f"record {op.path}") from None
    if prev_data is not None:
        before = _invert(tree, parsed)
        if before != prev_data:
            raise OracleError(
                f"inverting the ops gives MST root {before}, not the event's prevData {prev_data}"
            )
    return VerifiedCommitEvent(commit, parsed, records)
