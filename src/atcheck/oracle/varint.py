"""Unsigned LEB128 varints as multiformats uses them (CIDs, multicodec prefixes, CAR section lengths).

Strict on purpose: the multiformats unsigned-varint spec requires the minimal encoding and at most 9 bytes,
and a lenient reader would let two byte strings name the same CID.
"""

from __future__ import annotations

from atcheck.oracle.errors import OracleError

MAX_VARINT_BYTES = 9


def read_varint(data: bytes, pos: int, what: str = "varint") -> tuple[int, int]:
    """Decode the varint at ``data[pos:]``; return (value, position after it)."""
    value = 0
    shift = 0
    start = pos
    end = len(data)
    while True:
        if pos >= end:
            raise OracleError(f"{what} is truncated", offset=start)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and pos - start > 1:
                raise OracleError(f"{what} is not minimally encoded", offset=start)
            return value, pos
        shift += 7
        if pos - start >= MAX_VARINT_BYTES:
            raise OracleError(f"{what} is longer than {MAX_VARINT_BYTES} bytes", offset=start)


def encode_varint(value: int) -> bytes:
    if value < 0 or value >= 1 << 63:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
