"""CIDs: strict parsing from text or bytes, and recomputation from block bytes.

The CID of a record (its DAG-CBOR encoding hashed) is :func:`atcheck.oracle.cbor.cid_for_record`: the
encoder sits above this module, which it uses for CID links.

atproto uses CIDv1 only. Its "blessed" form is sha-256 with the dag-cbor codec (records, MST nodes, commits)
or the raw codec (blobs), written as multibase base32 lowercase (``b...``). :func:`parse_cid` refuses
everything else that could make two strings name the same content: CIDv0, other multibases, upper case or
padding, non-minimal varints, a digest whose length disagrees with the multihash header, trailing bytes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

from atcheck.oracle.errors import OracleError
from atcheck.oracle.varint import encode_varint, read_varint

__all__ = [
    "CID",
    "DAG_CBOR",
    "RAW",
    "SHA2_256",
    "compute_cid",
    "parse_cid",
    "verify_block",
]

DAG_CBOR: Final = 0x71
RAW: Final = 0x55
SHA2_256: Final = 0x12
_CODEC_NAMES: Final = {DAG_CBOR: "dag-cbor", RAW: "raw"}
_B32_RE: Final = re.compile(r"b[a-z2-7]+")


class CID:
    """A parsed CIDv1. Equal and hashable by its binary form; ``str()`` gives base32 multibase."""

    __slots__ = ("_str", "codec", "digest", "hash_code", "raw", "version")

    version: int
    codec: int
    hash_code: int
    digest: bytes
    raw: bytes

    def __init__(self, version: int, codec: int, hash_code: int, digest: bytes, raw: bytes) -> None:
        self.version = version
        self.codec = codec
        self.hash_code = hash_code
        self.digest = digest
        self.raw = raw
        self._str: str | None = None

    @classmethod
    def build(cls, codec: int, digest: bytes, hash_code: int = SHA2_256) -> CID:
        raw = b"\x01" + encode_varint(codec) + encode_varint(hash_code) + encode_varint(len(digest)) + digest
        return cls(1, codec, hash_code, digest, raw)

    @property
    def is_blessed(self) -> bool:
        """CIDv1, sha-256 with a 32-byte digest, codec dag-cbor or raw: the only form atproto produces."""
        return (
            self.version == 1
            and self.codec in (DAG_CBOR, RAW)
            and self.hash_code == SHA2_256
            and len(self.digest) == 32
        )

    def check_blessed(self, what: str = "CID") -> None:
        if self.hash_code != SHA2_256 or len(self.digest) != 32:
            raise OracleError(f"{what} {self} does not use sha-256 (multihash 0x{self.hash_code:x})")
        if self.codec not in (DAG_CBOR, RAW):
            raise OracleError(f"{what} {self} has codec 0x{self.codec:x}, not dag-cbor (0x71) or raw (0x55)")

    def __str__(self) -> str:
        if self._str is None:
            self._str = "b" + base64.b32encode(self.raw).decode("ascii").lower().rstrip("=")
        return self._str

    def __repr__(self) -> str:
        return f"CID({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CID) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __lt__(self, other: CID) -> bool:
        return self.raw < other.raw


_BLESSED_HEADS: Final = {b"\x01\x71\x12\x20": DAG_CBOR, b"\x01\x55\x12\x20": RAW}


def _parse_cid_bytes(raw: bytes, *, base_offset: int = 0) -> CID:
    if len(raw) == 36:  # fast path: the blessed forms, which are nearly all CIDs the oracle sees
        codec = _BLESSED_HEADS.get(raw[:4])
        if codec is not None:
            return CID(1, codec, SHA2_256, raw[4:], raw)
    if not raw:
        raise OracleError("empty CID", offset=base_offset)
    if raw[0] == 0x12 and len(raw) > 1 and raw[1] == 0x20:
        raise OracleError("CIDv0 is not allowed in atproto", offset=base_offset)
    try:
        version, pos = read_varint(raw, 0, "CID version")
        if version != 1:
            raise OracleError(f"CID version {version} is not supported (only CIDv1)", offset=0)
        codec, pos = read_varint(raw, pos, "CID codec")
        hash_code, pos = read_varint(raw, pos, "CID multihash code")
        length, pos = read_varint(raw, pos, "CID digest length")
    except OracleError as exc:
        raise OracleError(exc.problem, offset=base_offset + (exc.offset or 0)) from None
    digest = raw[pos : pos + length]
    if len(digest) != length:
        raise OracleError(
            f"CID digest is truncated ({len(digest)} of {length} bytes)", offset=base_offset + pos
        )
    if pos + length != len(raw):
        raise OracleError(
            f"{len(raw) - pos - length} trailing bytes after the CID digest",
            offset=base_offset + pos + length,
        )
    return CID(version, codec, hash_code, bytes(digest), bytes(raw))


def parse_cid(value: str | bytes, *, blessed: bool = False) -> CID:
    """Parse a CID from its base32 text form or its binary form; with ``blessed``, also require sha-256 and
    the dag-cbor or raw codec."""
    if isinstance(value, str):
        if value.startswith("Qm"):
            raise OracleError(f"CIDv0 {value!r} is not allowed in atproto")
        if not _B32_RE.fullmatch(value):
            raise OracleError(f"CID {value[:80]!r} is not multibase base32 lowercase ('b' + [a-z2-7])")
        body = value[1:].upper()
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except ValueError:
            raise OracleError(f"CID {value!r} is not valid base32") from None
        cid = _parse_cid_bytes(raw)
        if str(cid) != value:
            raise OracleError(f"CID {value!r} is not in canonical base32 form (trailing bits set)")
    else:
        cid = _parse_cid_bytes(bytes(value))
    if blessed:
        cid.check_blessed()
    return cid


_BLESSED_PREFIX: Final = {DAG_CBOR: b"\x01\x71\x12\x20", RAW: b"\x01\x55\x12\x20"}


def compute_cid(data: bytes, codec: int = DAG_CBOR) -> CID:
    """The blessed CID of a block: sha-256 of its bytes, under ``codec``."""
    digest = hashlib.sha256(data).digest()
    prefix = _BLESSED_PREFIX.get(codec)
    if prefix is not None:  # the two codecs atproto uses: a constant header, no varints to encode
        return CID(1, codec, SHA2_256, digest, prefix + digest)
    return CID.build(codec, digest)


def verify_block(cid: CID, data: bytes) -> None:
    """Check that ``data`` hashes to ``cid`` (which must be a blessed CID)."""
    cid.check_blessed("block CID")
    if hashlib.sha256(data).digest() != cid.digest:
        actual = compute_cid(data, cid.codec)
        raise OracleError(f"block content hashes to {actual}, not to its CID {cid}")


def codec_name(codec: int) -> str:
    return _CODEC_NAMES.get(codec, f"0x{codec:x}")
