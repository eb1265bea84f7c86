"""CAR v1 reading: round trip, and each corruption reported with what and where."""

from __future__ import annotations

import pytest

from atcheck.oracle.car import read_car, write_car
from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import RAW, compute_cid
from atcheck.oracle.errors import OracleError
from atcheck.oracle.varint import encode_varint

BLOCKS = [encode({"n": i, "text": "x" * i}) for i in range(5)]
CIDS = [compute_cid(b) for b in BLOCKS]


def _car(**header: object) -> bytes:
    head = encode(header or {"roots": [CIDS[0]], "version": 1})
    out = bytearray(encode_varint(len(head)) + head)
    for cid, block in zip(CIDS, BLOCKS, strict=True):
        out += encode_varint(len(cid.raw) + len(block)) + cid.raw + block
    return bytes(out)


def test_round_trip() -> None:
    data = write_car([CIDS[0]], zip(CIDS, BLOCKS, strict=True))
    assert data == _car()
    car = read_car(data)
    assert car.roots == [CIDS[0]]
    assert car.order == CIDS
    assert car.blocks == dict(zip(CIDS, BLOCKS, strict=True))
    assert car.duplicates == 0 and car.size == len(data)


def test_raw_blocks_and_duplicates() -> None:
    blob = b"\x89PNG not really"
    blob_cid = compute_cid(blob, RAW)
    data = write_car([CIDS[0]], [(CIDS[0], BLOCKS[0]), (blob_cid, blob), (CIDS[0], BLOCKS[0])])
    car = read_car(data)
    assert car.blocks[blob_cid] == blob
    assert car.duplicates == 1


def test_every_flipped_block_byte_is_caught() -> None:
    data = _car()
    last_block_start = len(data) - len(BLOCKS[-1])
    for i in range(last_block_start, len(data)):
        mutated = bytearray(data)
        mutated[i] ^= 0xFF
        with pytest.raises(OracleError, match="does not match its content"):
            read_car(bytes(mutated))


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: b"", "CAR is empty"),
        (lambda d: d[:-1], "runs past the end of the file"),
        (lambda d: bytes([d[0] | 0x80, 0]) + d[1:], "not minimally encoded"),
        (lambda d: d + b"\x00", "section of length zero"),
        (lambda d: d + b"\x85\x00", "not minimally encoded"),
        (lambda d: d + b"\x05\x01\x71\x12\x20\x00", "runs past the end of its section"),
        (lambda d: b"\x00", "header length is zero"),
    ],
    ids=["empty", "truncated", "header varint", "zero section", "section varint", "short cid", "zero header"],
)
def test_structural_corruption(mutate: object, problem: str) -> None:
    assert callable(mutate)
    with pytest.raises(OracleError, match=problem):
        read_car(mutate(_car()))


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ({"roots": [CIDS[0]], "version": 2}, "version is 2"),
        ({"roots": [], "version": 1}, "no roots"),
        ({"roots": ["x"], "version": 1}, "not a list of CIDs"),
        ({"roots": [CIDS[0]], "version": 1, "extra": 1}, "unexpected keys"),
    ],
)
def test_bad_headers(header: dict[str, object], problem: str) -> None:
    with pytest.raises(OracleError, match=problem):
        read_car(_car(**header))


def test_non_canonical_header_has_offset() -> None:
    head = bytes.fromhex("a2") + encode("version")[0:0]  # build {"version": 1, "roots": [...]} out of order
    body = encode("version") + encode(1) + encode("roots") + encode([CIDS[0]])
    head = head + body
    data = encode_varint(len(head)) + head
    with pytest.raises(OracleError) as info:
        read_car(data)
    assert "out of canonical order" in str(info.value)
    assert info.value.offset == 1 + 1 + len(encode("version")) + 1
