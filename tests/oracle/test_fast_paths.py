"""The oracle's fast paths give the same bytes and values as its plain, generic code.

The firehose hot path writes MST node bytes directly, encodes the unsigned commit with cbrrr, and decodes a
frame header through cbrrr; each must agree with :func:`atcheck.oracle.cbor.encode` /
:func:`atcheck.oracle.cbor.decode_strict`, or a valid commit would fail to invert (or an invalid one pass).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.oracle.cbor import _decode_prefix_strict, decode_prefix, encode
from atcheck.oracle.cid import CID, DAG_CBOR, RAW, compute_cid
from atcheck.oracle.errors import OracleError
from atcheck.oracle.mst import _node_bytes, common_prefix_len, decode_node
from atcheck.oracle.repo import _unsigned_bytes

_cids = st.builds(
    lambda data, codec: CID.build(codec, hashlib.sha256(data).digest()),
    st.binary(max_size=8),
    st.sampled_from([DAG_CBOR, RAW]),
)
_keys = st.lists(st.binary(min_size=1, max_size=300), min_size=0, max_size=30, unique=True).map(sorted)


def _generic(left: CID | None, entries: list[tuple[bytes, CID, CID | None]]) -> bytes:
    out, prev = [], b""
    for key, value, right in entries:
        p = common_prefix_len(prev, key)
        out.append({"k": key[p:], "p": p, "t": right, "v": value})
        prev = key
    return encode({"e": out, "l": left})


@given(_keys, st.data())
def test_node_bytes_equal_the_generic_encoding(keys: list[bytes], data: st.DataObject) -> None:
    left = data.draw(st.none() | _cids)
    entries = [(k, data.draw(_cids), data.draw(st.none() | _cids)) for k in keys]
    assert _node_bytes(left, entries) == _generic(left, entries)


def test_a_node_written_directly_decodes_back() -> None:
    a, b = compute_cid(b"a"), compute_cid(b"b")
    keys = [b"app.bsky.feed.post/3k" + bytes([48 + i]) for i in range(30)]
    node = decode_node(_node_bytes(a, [(k, b, None) for k in keys]), strict_record_links=False)
    assert node.left == a and [e[0].encode() for e in node.entries] == keys and node.raw_keys == tuple(keys)


def test_unsigned_commit_bytes_equal_the_generic_encoding() -> None:
    commit = {
        "did": "did:plc:" + "a" * 24,
        "version": 3,
        "data": compute_cid(b"root"),
        "rev": "3kabcdefghijk",
        "prev": None,
        "sig": b"\x01" * 64,
    }
    expected = encode({k: v for k, v in commit.items() if k != "sig"})
    assert _unsigned_bytes(commit) == expected
    assert _unsigned_bytes({**commit, "prev": compute_cid(b"p")}) == encode(
        {k: v for k, v in {**commit, "prev": compute_cid(b"p")}.items() if k != "sig"}
    )


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("a2616f01617463236f70") + b"\xa0",  # a header then a payload
        bytes.fromhex("a1616f01") + b"junk",
        bytes.fromhex("a1616ffb3ff0000000000000") + b"\xa0",  # a float: refused
        bytes.fromhex("a2617401616f01"),  # keys out of canonical order: refused
        bytes.fromhex("a1616f1b7fffffffffffffff"),  # i64 max: allowed
        bytes.fromhex("a1616f1b8000000000000000"),  # beyond i64: refused
        b"\xff",
    ],
)
def test_decode_prefix_agrees_with_the_strict_decoder(data: bytes) -> None:
    try:
        expected: object = _decode_prefix_strict(data)
    except OracleError as exc:
        expected = exc.problem
    try:
        got: object = decode_prefix(data)
    except OracleError as exc:
        got = exc.problem
    assert got == expected
