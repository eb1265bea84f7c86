"""The repository Merkle Search Tree: node checks, an in-order walk, key lookup with proofs, and a builder.

The MST is deterministic: one set of (key, record CID) pairs has exactly one tree, hence one root CID. A
node is ``{"e": [{"p", "k", "v", "t"}...], "l": link | null}``. The walk checks, node by node, everything
that makes the shape unique, so a deviation is reported where it happens rather than as a root mismatch:

- node and entry maps have exactly their fields, with ``l`` and ``t`` present even when null;
- keys are valid repo paths (``<nsid>/<rkey>``) and strictly increasing across the whole tree;
- prefix compression is exact: ``p`` is the length of the prefix shared with the previous key in the node
  (0 for the first entry), ``k`` the rest;
- every key's height (leading zero bits of its SHA-256, counted in 2-bit steps) equals its node's height,
  and each subtree link goes down exactly one level;
- no empty nodes, except the single empty root of an empty repo and empty intermediate nodes that lead to
  entries; the root is never an empty node that only points down;
- links between nodes are blessed dag-cbor CIDs.

:func:`build_mst` recomputes the tree from the records, independently of any implementation's nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from atcheck.oracle.cbor import Value, decode_strict
from atcheck.oracle.cid import CID, DAG_CBOR, _parse_cid_bytes, compute_cid
from atcheck.oracle.errors import OracleError
from atcheck.syntax import SyntaxViolation, check_nsid, check_record_key

try:  # cbrrr's C decoder for node blocks (see decode_node); optional
    import cbrrr as _cbrrr
except ImportError:  # pragma: no cover - depends on the environment
    _cbrrr = None  # type: ignore[assignment]

__all__ = [
    "MstNode",
    "MstWalk",
    "build_mst",
    "check_repo_path",
    "common_prefix_len",
    "decode_node",
    "find_key",
    "key_height",
    "walk_mst",
]

GetBlock = Callable[[CID], bytes | None]


def key_height(key: bytes | str) -> int:
    """The MST layer of a key: leading zero bits of SHA-256(key), divided by two, rounded down."""
    return _height(key.encode("utf-8") if isinstance(key, str) else bytes(key))


@lru_cache(maxsize=1 << 16)
def _height(raw: bytes) -> int:
    # Cached: a stream of commits to one repo hashes the same neighbouring keys over and over.
    digest = int.from_bytes(hashlib.sha256(raw).digest(), "big")
    return (256 - digest.bit_length()) // 2


def common_prefix_len(a: bytes | str, b: bytes | str) -> int:
    """Length of the common prefix, in bytes for bytes and in characters for str (ASCII keys: the same)."""
    if isinstance(a, str) or isinstance(b, str):
        n = min(len(a), len(b))
        i = 0
        while i < n and a[i] == b[i]:
            i += 1
        return i
    n = min(len(a), len(b))
    # XOR of the two n-byte prefixes: the highest set bit falls in the first byte that differs.
    diff = int.from_bytes(a[:n], "big") ^ int.from_bytes(b[:n], "big")
    return n if diff == 0 else n - 1 - (diff.bit_length() - 1) // 8


def check_repo_path(key: str, known_collections: set[str] | None = None) -> None:
    """A repo path is ``<collection NSID>/<record key>``: exactly two segments, both valid.

    ``known_collections`` caches collections already found valid, since a repo repeats a handful of them.
    """
    collection, sep, rkey = key.partition("/")
    if not sep:
        raise OracleError(f"MST key {key!r} is not a repo path <collection>/<rkey>")
    try:
        if known_collections is None or collection not in known_collections:
            check_nsid(collection)
            if known_collections is not None:
                known_collections.add(collection)
        check_record_key(rkey)
    except SyntaxViolation as exc:
        raise OracleError(f"MST key {key!r}: {exc}") from None


@dataclass(frozen=True)
class MstNode:
    """One decoded node: the left link, then (full key, value CID, right link) per entry."""

    left: CID | None
    entries: tuple[tuple[str, CID, CID | None], ...]
    raw_keys: tuple[bytes, ...] = field(default=(), compare=False, repr=False)
    """The entries' full keys as bytes (what the MST hashes and sorts), when decoded from a block."""


def _link(value: Value, what: str) -> CID | None:
    if value is None:
        return None
    if not isinstance(value, CID):
        raise OracleError(f"{what} is not a CID link or null")
    if not value.is_blessed or value.codec != DAG_CBOR:
        raise OracleError(f"{what} {value} is not a blessed dag-cbor sha-256 CID")
    return value


def decode_node(data: bytes, *, strict_record_links: bool = True) -> MstNode:
    """Decode and check one MST node's own fields (not its place in the tree).

    Results are cached by the node's bytes (a firehose event's slice is walked more than once, and the
    :class:`MstNode` is immutable). Valid nodes are decoded by cbrrr (C) when installed: the field checks
    below refuse everything cbrrr lets through that strict DAG-CBOR does not (a float or an integer beyond
    i64 can only sit where an integer, bytes or a link must be), and any refusal is re-judged by the strict
    decoder, so the verdict and its message are those of :func:`~atcheck.oracle.cbor.decode_strict`.
    """
    return _decode_node(bytes(data), strict_record_links)


@lru_cache(maxsize=4096)
def _decode_node(data: bytes, strict_record_links: bool) -> MstNode:
    if _cbrrr is not None:
        try:
            return _check_node(_cbrrr.decode_dag_cbor(data, cid_ctor=_parse_cid_bytes), strict_record_links)
        except Exception:  # re-judged below, with the strict decoder's message
            pass
    return _check_node(decode_strict(data, blessed_links=False), strict_record_links)


_NODE_FIELDS: Final = frozenset({"e", "l"})
_ENTRY_FIELDS: Final = frozenset({"p", "k", "v", "t"})


def _check_node(node: Value, strict_record_links: bool) -> MstNode:
    # The hot loop of firehose verification (every new node of every commit passes here), so the checks are
    # written for speed: key views compared to frozensets, and the exact-prefix rule tested on one byte
    # (``full`` starts with ``prev[:p]``, so it shares exactly ``p`` bytes with ``prev`` unless the next
    # bytes of both exist and are equal).
    if type(node) is not dict:
        raise OracleError("MST node is not a map")
    if node.keys() != _NODE_FIELDS:
        missing = sorted(_NODE_FIELDS - set(node))
        extra = sorted(set(node) - _NODE_FIELDS)
        detail = f"missing {missing}" if missing else f"unexpected {extra}"
        raise OracleError(
            f"MST node must have exactly the fields 'e' and 'l' ({detail}; l is null, not absent)"
        )
    left = _link(node["l"], "MST node 'l'")
    raw_entries = node["e"]
    if type(raw_entries) is not list:
        raise OracleError("MST node 'e' is not an array")
    entries: list[tuple[str, CID, CID | None]] = []
    raw_keys: list[bytes] = []
    prev = b""
    for i, entry in enumerate(raw_entries):
        if type(entry) is not dict or entry.keys() != _ENTRY_FIELDS:
            shown = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise OracleError(
                f"MST entry {i} must be a map of exactly p, k, v, t (t is null, not absent); got {shown}"
            )
        p, k, v, t = entry["p"], entry["k"], entry["v"], entry["t"]
        if type(p) is not int or p < 0:
            raise OracleError(f"MST entry {i}: 'p' is not a non-negative integer")
        if type(k) is not bytes:
            raise OracleError(f"MST entry {i}: 'k' is not a byte string")
        if type(v) is not CID:
            raise OracleError(f"MST entry {i}: 'v' is not a CID link")
        if strict_record_links and not v.is_blessed:
            raise OracleError(f"MST entry {i}: record link {v} is not a blessed sha-256 CID")
        if i == 0:
            if p != 0:
                raise OracleError(
                    f"MST entry 0 has prefix length {p}; the first entry must carry its full key"
                )
            full = k
        else:
            if p > len(prev):
                raise OracleError(
                    f"MST entry {i}: prefix length {p} exceeds the previous key's length {len(prev)}"
                )
            full = prev[:p] + k
            if p < len(prev) and k and k[0] == prev[p]:
                shared = common_prefix_len(prev, full)
                raise OracleError(
                    f"MST entry {i}: prefix length is {p} but the key shares {shared} bytes with the "
                    "previous one (prefix compression must be exact)"
                )
            if full <= prev:
                raise OracleError(f"MST entry {i}: key {full!r} does not sort after {prev!r}")
        try:
            key = full.decode("utf-8")
        except UnicodeDecodeError:
            raise OracleError(f"MST entry {i}: key {full!r} is not UTF-8") from None
        if not key:
            raise OracleError(f"MST entry {i}: empty key")
        entries.append((key, v, None if t is None else _link(t, f"MST entry {i} 't'")))
        raw_keys.append(full)
        prev = full
    return MstNode(left, tuple(entries), tuple(raw_keys))


@dataclass
class MstWalk:
    """The result of walking a whole tree: records in key order, and how many nodes held them."""

    records: list[tuple[str, CID]] = field(default_factory=list)
    nodes: list[CID] = field(default_factory=list)
    height: int = 0


def walk_mst(
    root: CID,
    get_block: GetBlock,
    *,
    strict_record_links: bool = True,
    check_paths: bool = True,
    on_record: Callable[[str, CID], None] | None = None,
    on_node: Callable[[CID], None] | None = None,
) -> MstWalk:
    """Walk the tree under ``root`` in key order, checking every node; raise :class:`OracleError` with the
    offending node's CID on the first problem.

    With ``on_record``/``on_node``, records and nodes go to them as they are met instead of into the
    returned lists, so a walk over a huge repo keeps nothing (:mod:`atcheck.oracle.stream`)."""
    walk = MstWalk()
    last: list[str] = []
    collections: set[str] = set()

    def load(cid: CID) -> MstNode:
        data = get_block(cid)
        if data is None:
            raise OracleError(f"MST node {cid} is missing from the CAR")
        try:
            return decode_node(data, strict_record_links=strict_record_links)
        except OracleError as exc:
            raise exc.within(f"MST node {cid}") from None

    add_node = on_node or walk.nodes.append
    add_record = on_record or (lambda key, value: walk.records.append((key, value)))

    def visit(cid: CID, node: MstNode, height: int, is_root: bool) -> None:
        add_node(cid)

        def where() -> str:  # only formatted on failure: str(CID) costs a base32 encode
            return f"MST node {cid} (height {height})"

        if not node.entries:
            if is_root and node.left is not None:
                raise OracleError(f"{where()}: the root is an empty node that only points to a subtree")
            if not is_root and node.left is None:
                raise OracleError(f"{where()}: empty node with no subtree (empty nodes must be pruned)")
        if height == 0 and (node.left is not None or any(t is not None for _, _, t in node.entries)):
            raise OracleError(f"{where()}: a height-0 node links to a subtree")
        if node.left is not None:
            visit(node.left, load(node.left), height - 1, False)
        for key, value, right in node.entries:
            actual = key_height(key)
            if actual != height:
                raise OracleError(f"{where()}: key {key!r} has height {actual}, not the node's {height}")
            if check_paths:
                try:
                    check_repo_path(key, collections)
                except OracleError as exc:
                    raise exc.within(where()) from None
            if last and key <= last[0]:
                raise OracleError(f"{where()}: key {key!r} is out of order after {last[0]!r}")
            last[:] = [key]
            add_record(key, value)
            if right is not None:
                visit(right, load(right), height - 1, False)

    root_node = load(root)
    if root_node.entries:
        walk.height = key_height(root_node.entries[0][0])
    elif root_node.left is not None:
        raise OracleError(f"MST root {root} is an empty node that only points to a subtree")
    visit(root, root_node, walk.height, True)
    return walk


def find_key(
    root: CID, key: str, get_block: GetBlock, *, strict_record_links: bool = True
) -> tuple[CID | None, list[CID]]:
    """Follow the search path for ``key``: (its record CID or None when provably absent, nodes visited).

    Each node on the path is decoded and checked (fields, prefixes, order, heights); a node the path needs
    but the CAR lacks is an error, since then neither presence nor absence is proven.
    """
    path: list[CID] = []
    cid: CID | None = root
    height: int | None = None
    while cid is not None:
        data = get_block(cid)
        if data is None:
            raise OracleError(f"proof is incomplete: MST node {cid} on the path to {key!r} is missing")
        try:
            node = decode_node(data, strict_record_links=strict_record_links)
        except OracleError as exc:
            raise exc.within(f"MST node {cid}") from None
        path.append(cid)
        if height is None:
            if not node.entries and node.left is not None:
                raise OracleError(f"MST root {cid} is an empty node that only points to a subtree")
            height = key_height(node.entries[0][0]) if node.entries else 0
        elif height < 0:
            raise OracleError(f"MST node {cid} lies below height 0")
        elif not node.entries and node.left is None:
            raise OracleError(f"MST node {cid}: empty node with no subtree")
        for entry_key, _, _ in node.entries:
            if key_height(entry_key) != height:
                raise OracleError(
                    f"MST node {cid}: key {entry_key!r} does not have the node's height {height}"
                )
        nxt = node.left
        for entry_key, value, right in node.entries:
            if entry_key == key:
                return value, path
            if entry_key > key:
                break
            nxt = right
        if nxt is not None and height == 0:
            raise OracleError(f"MST node {cid}: a height-0 node links to a subtree")
        cid = nxt
        height -= 1
    return None, path


# --- building --------------------------------------------------------------------------------------------


def _node_bytes(left: CID | None, entries: Iterable[tuple[bytes, CID, CID | None]]) -> bytes:
    """The canonical DAG-CBOR encoding of a node, written directly.

    A node has one fixed shape, so its canonical bytes are spelled out here rather than built as a value
    and handed to a generic encoder (this runs for every node a firehose inversion rebuilds): the map
    ``{"e", "l"}`` in canonical key order, each entry ``{"k", "p", "t", "v"}`` (all one-byte keys, so
    bytewise order), shortest-form heads, and links as tag 42 over ``0x00 || CID``. The oracle's tests
    check it against :func:`~atcheck.oracle.cbor.encode` of the same node value.
    """
    out = [b"\xa2\x61e"]
    parts: list[bytes] = []
    prev = b""
    count = 0
    for key, value, right in entries:
        p = common_prefix_len(prev, key)
        suffix = key[p:]
        parts.append(_ENTRY_K)
        parts.append(_head(2, len(suffix)))
        parts.append(suffix)
        parts.append(_ENTRY_P)
        parts.append(_head(0, p))
        parts.append(_ENTRY_T)
        parts.append(_NULL if right is None else _link_bytes(right))
        parts.append(_ENTRY_V)
        parts.append(_link_bytes(value))
        prev = key
        count += 1
    out.append(_head(4, count))
    out += parts
    out.append(b"\x61l")
    out.append(_NULL if left is None else _link_bytes(left))
    return b"".join(out)


_ENTRY_K: Final = b"\xa4\x61k"  # map of 4, then key "k"
_ENTRY_P: Final = b"\x61p"
_ENTRY_T: Final = b"\x61t"
_ENTRY_V: Final = b"\x61v"
_NULL: Final = b"\xf6"


def _head(major: int, arg: int) -> bytes:
    """A CBOR head in its shortest form."""
    if arg < 24:
        return _SMALL_HEADS[major][arg]
    if arg < 0x100:
        return bytes((major << 5 | 24, arg))
    if arg < 0x10000:
        return bytes((major << 5 | 25,)) + arg.to_bytes(2, "big")
    if arg < 0x100000000:
        return bytes((major << 5 | 26,)) + arg.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + arg.to_bytes(8, "big")


_SMALL_HEADS: Final = [[bytes((major << 5 | arg,)) for arg in range(24)] for major in range(8)]


def _link_bytes(cid: CID) -> bytes:
    """Tag 42 over a byte string of ``0x00`` then the CID's binary form."""
    raw = cid.raw
    if len(raw) == 36:  # the blessed CIDs: one constant head
        return b"\xd8\x2a\x58\x25\x00" + raw
    return b"\xd8\x2a" + _head(2, len(raw) + 1) + b"\x00" + raw


def build_mst(records: Mapping[str, CID]) -> tuple[CID, dict[CID, bytes]]:
    """The canonical tree for ``records``: its root CID and every node block, built from scratch."""
    items = sorted((key.encode("utf-8"), key_height(key), cid) for key, cid in records.items())
    blocks: dict[CID, bytes] = {}

    def build(run: list[tuple[bytes, int, CID]], height: int) -> CID:
        left: CID | None = None
        entries: list[tuple[bytes, CID, CID | None]] = []
        pending: list[tuple[bytes, int, CID]] = []
        for item in run:
            if item[1] == height:
                sub = build(pending, height - 1) if pending else None
                if entries:
                    entries[-1] = (entries[-1][0], entries[-1][1], sub)
                else:
                    left = sub
                entries.append((item[0], item[2], None))
                pending = []
            else:
                pending.append(item)
        if pending:
            sub = build(pending, height - 1)
            if entries:
                entries[-1] = (entries[-1][0], entries[-1][1], sub)
            else:
                left = sub
        data = _node_bytes(left, entries)
        cid = compute_cid(data, DAG_CBOR)
        blocks[cid] = data
        return cid

    top = max((h for _, h, _ in items), default=0)
    return build(items, top), blocks
