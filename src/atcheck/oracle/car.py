"""CAR v1 files: strict reading with every block's hash checked, and writing (for tests and benchmarks).

A CAR is a varint-prefixed DAG-CBOR header ``{"roots": [CID, ...], "version": 1}`` followed by sections,
each ``varint(len) || CID bytes || block bytes``. The reader refuses non-minimal varints, a header that is
not canonical DAG-CBOR or carries unknown keys, empty or truncated sections, CIDs that are not blessed, and
any block whose bytes do not hash to its CID. Findings carry the byte offset in the CAR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from atcheck.oracle.cbor import decode_strict, encode
from atcheck.oracle.cid import _BLESSED_HEADS, CID, _parse_cid_bytes, compute_cid
from atcheck.oracle.errors import OracleError
from atcheck.oracle.varint import encode_varint, read_varint

__all__ = ["Car", "read_car", "write_car"]


@dataclass(frozen=True)
class Car:
    """The parsed content of a CAR: header roots, blocks by CID (hash-checked), and what was odd about it."""

    roots: list[CID]
    blocks: dict[CID, bytes]
    order: list[CID] = field(repr=False)
    """Block CIDs in file order (first occurrence)."""
    duplicates: int = 0
    """Sections repeating a block already seen (identical bytes, so harmless, but counted)."""
    size: int = 0


def read_car(data: bytes, *, verify_hashes: bool = True) -> Car:
    """Parse a CAR v1; raise :class:`OracleError` naming the problem and its byte offset."""
    buf = bytes(data)
    end = len(buf)
    if end == 0:
        raise OracleError("CAR is empty")
    header_len, pos = read_varint(buf, 0, "CAR header length")
    if header_len == 0:
        raise OracleError("CAR header length is zero", offset=0)
    if pos + header_len > end:
        raise OracleError(f"CAR header of {header_len} bytes runs past the end of the file", offset=0)
    try:
        header = decode_strict(buf[pos : pos + header_len], blessed_links=False)
    except OracleError as exc:
        raise OracleError(f"CAR header: {exc.problem}", offset=pos + (exc.offset or 0)) from None
    if not isinstance(header, dict):
        raise OracleError("CAR header is not a map", offset=pos)
    if header.get("version") != 1:
        raise OracleError(f"CAR header version is {header.get('version')!r}, not 1", offset=pos)
    extra = sorted(set(header) - {"roots", "version"})
    if extra:
        raise OracleError(f"CAR header has unexpected keys {extra}", offset=pos)
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise OracleError("CAR header 'roots' is not a list of CIDs", offset=pos)
    if not roots:
        raise OracleError("CAR header lists no roots", offset=pos)
    pos += header_len

    blocks: dict[CID, bytes] = {}
    order: list[CID] = []
    duplicates = 0
    sha256 = hashlib.sha256
    while pos < end:
        section_start = pos
        length = buf[pos]
        if length < 0x80:  # a one-byte varint (always minimal): most sections of a firehose slice
            pos += 1
        else:
            length, pos = read_varint(buf, pos, "CAR section length")
        if length == 0:
            raise OracleError("CAR section of length zero", offset=section_start)
        stop = pos + length
        if stop > end:
            raise OracleError(
                f"CAR section of {length} bytes runs past the end of the file", offset=section_start
            )
        cid, block_start = _read_section_cid(buf, pos, stop)
        block = buf[block_start:stop]
        if verify_hashes:
            if cid.hash_code != 0x12 or len(cid.digest) != 32 or cid.codec not in (0x71, 0x55):
                try:
                    cid.check_blessed("block CID")
                except OracleError as exc:
                    raise OracleError(exc.problem, offset=pos) from None
            if sha256(block).digest() != cid.digest:
                raise OracleError(
                    f"block {cid} does not match its content, "
                    f"which hashes to {compute_cid(block, cid.codec)}",
                    offset=section_start,
                )
        if cid in blocks:
            if blocks[cid] != block:  # only reachable without hash checks
                raise OracleError(f"block {cid} appears twice with different bytes", offset=section_start)
            duplicates += 1
        else:
            blocks[cid] = block
            order.append(cid)
        pos = stop
    return Car(roots=roots, blocks=blocks, order=order, duplicates=duplicates, size=end)


def _read_section_cid(buf: bytes, pos: int, stop: int) -> tuple[CID, int]:
    """The CID opening a section (its varints give its length), and where the block starts."""
    start = pos
    if buf[pos : pos + 4] in _BLESSED_HEADS and pos + 36 <= stop:  # fast path, checked by the full parse
        return _parse_cid_bytes(buf[pos : pos + 36], base_offset=pos), pos + 36
    if buf[pos] == 0x12 and pos + 1 < stop and buf[pos + 1] == 0x20:
        raise OracleError("CIDv0 block CID is not allowed in atproto", offset=pos)
    try:
        _, pos = read_varint(buf, pos, "CID version")
        _, pos = read_varint(buf, pos, "CID codec")
        _, pos = read_varint(buf, pos, "CID multihash code")
        digest_len, pos = read_varint(buf, pos, "CID digest length")
    except OracleError as exc:
        raise OracleError(f"section {exc.problem}", offset=exc.offset) from None
    if pos > stop or pos + digest_len > stop:
        raise OracleError("section CID runs past the end of its section", offset=start)
    cid_end = pos + digest_len
    return _parse_cid_bytes(buf[start:cid_end], base_offset=start), cid_end


def write_car(roots: list[CID], blocks: Iterable[tuple[CID, bytes]]) -> bytes:
    """Serialise a CAR v1 (canonical header, sections in the given order)."""
    header = encode({"roots": roots, "version": 1})
    out = bytearray(encode_varint(len(header)))
    out += header
    for cid, block in blocks:
        out += encode_varint(len(cid.raw) + len(block))
        out += cid.raw
        out += block
    return bytes(out)
