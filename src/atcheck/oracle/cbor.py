"""Strict DAG-CBOR (the DRISL profile atproto uses): decode with a named problem and byte offset, encode.

Why our own decoder: cbrrr, the strictest Python decoder, still accepts 64-bit floats and integers outside
the signed 64-bit range, and none of the Python decoders report *where* the bytes went wrong. atproto data
must be byte-for-byte canonical because CIDs are hashes of those bytes, so this decoder refuses every
alternative encoding of the same value:

- map keys that are not text strings, not in length-then-bytewise order, or repeated;
- integers and lengths not in their shortest form, indefinite lengths, integers beyond i64;
- floats of any width, ``undefined``, other simple values, tags other than 42;
- tag 42 links whose payload is not a byte string starting with 0x00 followed by a strict CIDv1;
- invalid UTF-8 in text strings, and bytes left over after the top-level value.

Values decode to Python ``None``, ``bool``, ``int``, ``str``, ``bytes``, ``list``, ``dict`` and
:class:`~atcheck.oracle.cid.CID`. :func:`to_json` / :func:`from_json` convert to and from the JSON form
(``{"$link": ...}``, ``{"$bytes": ...}``, blob objects), enforcing the data model's rules on that side too.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from collections.abc import Callable
from typing import Any, Final

from atcheck.oracle.cid import CID, DAG_CBOR, RAW, _parse_cid_bytes, compute_cid, parse_cid
from atcheck.oracle.errors import OracleError

try:  # a C decoder for the fast path of decode_strict (see there); optional
    import cbrrr as _cbrrr
    from cbrrr._cbrrr import decode_dag_cbor as _cbrrr_decode  # (value, length): decodes a prefix
except ImportError:  # pragma: no cover - depends on the environment
    _cbrrr = None  # type: ignore[assignment]

__all__ = [
    "Value",
    "check_data_model",
    "cid_for_record",
    "decode_strict",
    "encode",
    "from_json",
    "loads_json",
    "to_json",
]

Value = Any
"""A data-model value: None, bool, int, str, bytes, CID, list of values, dict of str to values."""

I64_MIN: Final = -(1 << 63)
I64_MAX: Final = (1 << 63) - 1
MAX_DEPTH: Final = 256
_UNPACK_2: Final = struct.Struct(">H").unpack_from
_UNPACK_4: Final = struct.Struct(">I").unpack_from
_UNPACK_8: Final = struct.Struct(">Q").unpack_from
_MAJOR_NAMES: Final = ("uint", "negint", "bytes", "text", "array", "map", "tag", "simple/float")
_ARG_NAMES: Final = ("integer", "integer", "bytes length", "text length", "array length", "map length", "tag")
_MINIMUM: Final = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}


def decode_strict(data: bytes, *, blessed_links: bool = True) -> Value:
    """Decode one DAG-CBOR value that must span all of ``data``; raise :class:`OracleError` otherwise.

    With ``blessed_links`` (the default, as atproto requires), every CID link must be sha-256 with the
    dag-cbor or raw codec.

    Valid data takes a fast path: cbrrr (C) decodes it, refusing every non-canonical form this decoder
    refuses except floats, integers beyond i64 and nesting beyond :data:`MAX_DEPTH`, which are then looked
    for in the result. Anything cbrrr refuses, or that has one of those, goes through this module's own
    decoder, which gives the verdict and names the problem and its byte offset.
    """
    if _cbrrr is not None:
        try:
            fast = _cbrrr.decode_dag_cbor(bytes(data), cid_ctor=_blessed_cid if blessed_links else _any_cid)
        except Exception:  # any refusal: the strict decoder below explains it
            pass
        else:
            if _within_data_model(fast, 0):
                return fast
    value, end = _decode_prefix_strict(data, 0, blessed_links=blessed_links)
    if end != len(data):
        raise OracleError(f"{len(data) - end} trailing bytes after the DAG-CBOR value", offset=end)
    return value


def _any_cid(raw: bytes) -> CID:
    return _parse_cid_bytes(raw)


def _blessed_cid(raw: bytes) -> CID:
    cid = _parse_cid_bytes(raw)
    if not cid.is_blessed:
        raise OracleError("not a blessed CID")  # sends the fast path to the strict decoder
    return cid


def _within_data_model(value: Value, depth: int) -> bool:
    """No float, no integer beyond i64, no nesting beyond MAX_DEPTH: what cbrrr accepts and atproto not."""
    kind = type(value)
    if kind is int:
        return bool(I64_MIN <= value <= I64_MAX)
    if kind is dict:
        return depth < MAX_DEPTH and all(_within_data_model(v, depth + 1) for v in value.values())
    if kind is list:
        return depth < MAX_DEPTH and all(_within_data_model(v, depth + 1) for v in value)
    if kind is CID:
        return depth < MAX_DEPTH
    return kind is not float


def decode_prefix(data: bytes, pos: int = 0, *, blessed_links: bool = True) -> tuple[Value, int]:
    """Decode the DAG-CBOR value starting at ``pos``; return it and the position after it.

    The same fast path as :func:`decode_strict` (cbrrr decodes a leading value and says where it ended),
    with the same fallback: anything it refuses, or a float, big integer or deep nesting in its result,
    is judged by this module's decoder.
    """
    if _cbrrr is not None:
        buf = bytes(data) if pos == 0 else bytes(data[pos:])
        try:
            fast, length = _cbrrr_decode(buf, _blessed_cid if blessed_links else _any_cid, False)
        except Exception:  # any refusal: the strict decoder below explains it
            pass
        else:
            if _within_data_model(fast, 0):
                return fast, pos + length
    return _decode_prefix_strict(data, pos, blessed_links=blessed_links)


def _decode_prefix_strict(data: bytes, pos: int = 0, *, blessed_links: bool = True) -> tuple[Value, int]:
    buf = bytes(data)
    end = len(buf)

    def head(pos: int) -> tuple[int, int, int]:
        """(major type, argument, position after the head), with the shortest-form rule applied."""
        if pos >= end:
            raise OracleError("unexpected end of data", offset=pos)
        ib = buf[pos]
        major = ib >> 5
        info = ib & 0x1F
        if info < 24:
            return major, info, pos + 1
        if major == 7:
            if info in (25, 26, 27):
                raise OracleError("floats are not allowed in the atproto data model", offset=pos)
            if info == 24:
                raise OracleError("CBOR simple values are not allowed", offset=pos)
            raise OracleError(f"invalid additional info {info} for major type 7", offset=pos)
        if info == 24:
            if pos + 2 > end:
                raise OracleError("unexpected end of data in an integer argument", offset=pos)
            arg = buf[pos + 1]
            nxt = pos + 2
        elif info == 25:
            if pos + 3 > end:
                raise OracleError("unexpected end of data in an integer argument", offset=pos)
            arg = _UNPACK_2(buf, pos + 1)[0]
            nxt = pos + 3
        elif info == 26:
            if pos + 5 > end:
                raise OracleError("unexpected end of data in an integer argument", offset=pos)
            arg = _UNPACK_4(buf, pos + 1)[0]
            nxt = pos + 5
        elif info == 27:
            if pos + 9 > end:
                raise OracleError("unexpected end of data in an integer argument", offset=pos)
            arg = _UNPACK_8(buf, pos + 1)[0]
            nxt = pos + 9
        elif info == 31:
            raise OracleError(f"indefinite-length {_MAJOR_NAMES[major]} is not allowed", offset=pos)
        else:
            raise OracleError(f"reserved additional info {info}", offset=pos)
        if arg < _MINIMUM[info]:
            raise OracleError(f"{_ARG_NAMES[major]} {arg} is not in its shortest form", offset=pos)
        return major, arg, nxt

    def text(pos: int) -> tuple[str, int, int]:
        """A text string at ``pos``: (value, start of its UTF-8 bytes, position after)."""
        major, length, start = head(pos)
        if major != 3:
            raise OracleError(f"map key is a {_MAJOR_NAMES[major]}, not a text string", offset=pos)
        stop = start + length
        if stop > end:
            raise OracleError(f"text string of {length} bytes runs past the end of data", offset=pos)
        try:
            return buf[start:stop].decode("utf-8"), start, stop
        except UnicodeDecodeError as exc:
            raise OracleError("text string is not valid UTF-8", offset=start + exc.start) from None

    def value(pos: int, depth: int) -> tuple[Value, int]:
        major, arg, nxt = head(pos)
        if major == 0:
            if arg > I64_MAX:
                raise OracleError(f"integer {arg} is beyond the signed 64-bit range", offset=pos)
            return arg, nxt
        if major == 1:
            if arg > I64_MAX:
                raise OracleError(f"integer -1-{arg} is beyond the signed 64-bit range", offset=pos)
            return -1 - arg, nxt
        if major == 2:
            stop = nxt + arg
            if stop > end:
                raise OracleError(f"byte string of {arg} bytes runs past the end of data", offset=pos)
            return buf[nxt:stop], stop
        if major == 3:
            stop = nxt + arg
            if stop > end:
                raise OracleError(f"text string of {arg} bytes runs past the end of data", offset=pos)
            try:
                return buf[nxt:stop].decode("utf-8"), stop
            except UnicodeDecodeError as exc:
                raise OracleError("text string is not valid UTF-8", offset=nxt + exc.start) from None
        if depth >= MAX_DEPTH:
            raise OracleError(f"nesting deeper than {MAX_DEPTH} levels", offset=pos)
        if major == 4:
            if arg > end - nxt:
                raise OracleError(f"array of {arg} items cannot fit in the remaining data", offset=pos)
            items = []
            for _ in range(arg):
                item, nxt = value(nxt, depth + 1)
                items.append(item)
            return items, nxt
        if major == 5:
            if arg > (end - nxt) // 2:
                raise OracleError(f"map of {arg} entries cannot fit in the remaining data", offset=pos)
            out: dict[str, Value] = {}
            prev: bytes | None = None
            for _ in range(arg):
                key_pos = nxt
                key, kstart, nxt = text(nxt)
                raw_key = buf[kstart:nxt]
                if prev is not None:
                    if raw_key == prev:
                        raise OracleError(f"duplicate map key {key!r}", offset=key_pos)
                    if (len(raw_key), raw_key) < (len(prev), prev):
                        raise OracleError(
                            f"map key {key!r} is out of canonical order (length first, then bytewise) "
                            f"after {prev.decode('utf-8', 'replace')!r}",
                            offset=key_pos,
                        )
                prev = raw_key
                out[key], nxt = value(nxt, depth + 1)
            return out, nxt
        if major == 6:
            if arg != 42:
                raise OracleError(f"CBOR tag {arg} is not allowed (only 42, CID links)", offset=pos)
            inner_major, length, start = head(nxt)
            if inner_major != 2:
                raise OracleError("tag 42 must wrap a byte string", offset=nxt)
            stop = start + length
            if stop > end:
                raise OracleError("CID link runs past the end of data", offset=nxt)
            if length == 0 or buf[start] != 0:
                raise OracleError("CID link bytes must start with the 0x00 multibase prefix", offset=start)
            cid = _parse_cid_bytes(buf[start + 1 : stop], base_offset=start + 1)
            if blessed_links and not cid.is_blessed:
                try:
                    cid.check_blessed("CID link")
                except OracleError as exc:
                    raise OracleError(exc.problem, offset=start) from None
            return cid, stop
        # major 7, info < 24
        if arg == 20:
            return False, nxt
        if arg == 21:
            return True, nxt
        if arg == 22:
            return None, nxt
        if arg == 23:
            raise OracleError("'undefined' is not allowed", offset=pos)
        raise OracleError(f"CBOR simple value {arg} is not allowed", offset=pos)

    return value(pos, 0)


# --- encoding --------------------------------------------------------------------------------------------


def _head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes((major << 5 | arg,))
    if arg < 0x100:
        return bytes((major << 5 | 24, arg))
    if arg < 0x10000:
        return bytes((major << 5 | 25,)) + arg.to_bytes(2, "big")
    if arg < 0x100000000:
        return bytes((major << 5 | 26,)) + arg.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + arg.to_bytes(8, "big")


def encode(value: Value) -> bytes:
    """Canonical DAG-CBOR bytes of a data-model value; ``ValueError`` for what the data model forbids."""
    out = bytearray()
    _encode_into(value, out, 0)
    return bytes(out)


def _encode_into(value: Value, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_DEPTH} levels")
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if not I64_MIN <= value <= I64_MAX:
            raise ValueError(f"integer {value} is beyond the signed 64-bit range")
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out += _head(3, len(raw))
        out += raw
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        out += _head(2, len(raw))
        out += raw
    elif isinstance(value, CID):
        out += b"\xd8\x2a"
        out += _head(2, len(value.raw) + 1)
        out += b"\x00"
        out += value.raw
    elif isinstance(value, list | tuple):
        out += _head(4, len(value))
        for item in value:
            _encode_into(item, out, depth + 1)
    elif isinstance(value, dict):
        keys = []
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"map key {key!r} is not a string")
            keys.append((len(key.encode("utf-8")), key.encode("utf-8"), key))
        keys.sort()
        out += _head(5, len(keys))
        for length, raw, key in keys:
            out += _head(3, length)
            out += raw
            _encode_into(value[key], out, depth + 1)
    elif isinstance(value, float):
        raise ValueError(f"float {value!r} is not allowed in the atproto data model")
    else:
        raise ValueError(f"{type(value).__name__} is not a data-model type")


# --- the JSON form ---------------------------------------------------------------------------------------


def _b64_decode(text: str) -> bytes:
    # atproto writes $bytes as base64 without padding; accept padded input, refuse anything else.
    stripped = text.rstrip("=")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except binascii.Error:
        raise OracleError(f"$bytes value {text[:40]!r} is not base64") from None


def from_json(obj: object, *, path: str = "$", require_object: bool = False) -> Value:
    """Convert the JSON form to the data model, enforcing the data model's JSON-side rules.

    ``{"$link": cid}`` becomes a :class:`CID` and ``{"$bytes": b64}`` bytes (each with no other key);
    ``$type``, when present, is a non-empty string; a ``blob`` has a ``ref`` link, a string ``mimeType``
    and an integer ``size``. Floats are refused unless integral (``123.0`` is the integer 123, as the
    interop vectors require of JSON parsed by a float-typed parser). ``require_object`` is for records and
    other top-level documents, which must be maps.
    """
    if require_object and not isinstance(obj, dict):
        raise OracleError(f"{path}: the top level must be an object, not {type(obj).__name__}")
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        if not I64_MIN <= obj <= I64_MAX:
            raise OracleError(f"{path}: integer {obj} is beyond the signed 64-bit range")
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj) and obj.is_integer():
            return from_json(int(obj), path=path)
        raise OracleError(f"{path}: float {obj!r} is not allowed in the atproto data model")
    if isinstance(obj, list):
        return [from_json(item, path=f"{path}[{i}]") for i, item in enumerate(obj)]
    if isinstance(obj, dict):
        if "$link" in obj:
            link = obj["$link"]
            if len(obj) != 1:
                raise OracleError(f"{path}: a $link object may have no other keys")
            if not isinstance(link, str):
                raise OracleError(f"{path}: $link must be a string")
            try:
                return parse_cid(link)
            except OracleError as exc:
                raise exc.within(f"{path}.$link") from None
        if "$bytes" in obj:
            data = obj["$bytes"]
            if len(obj) != 1:
                raise OracleError(f"{path}: a $bytes object may have no other keys")
            if not isinstance(data, str):
                raise OracleError(f"{path}: $bytes must be a string")
            return _b64_decode(data)
        out: dict[str, Value] = {}
        for key, item in obj.items():
            if not isinstance(key, str):
                raise OracleError(f"{path}: map key {key!r} is not a string")
            out[key] = from_json(item, path=f"{path}.{key}")
        if "$type" in out:
            type_ = out["$type"]
            if not isinstance(type_, str) or not type_:
                raise OracleError(f"{path}: $type must be a non-empty string")
            if type_ == "blob":
                _check_blob(out, path)
        return out
    raise OracleError(f"{path}: {type(obj).__name__} is not a JSON data-model value")


def _check_blob(blob: dict[str, Value], path: str) -> None:
    """The data-model spec's blob: a ``raw`` ``ref`` link, a non-empty ``mimeType``, a positive ``size``."""
    ref = blob.get("ref")
    if not isinstance(ref, CID):
        raise OracleError(f"{path}: blob needs a 'ref' link")
    if ref.codec != RAW:
        raise OracleError(f"{path}: blob ref {ref} has codec 0x{ref.codec:x}, not raw (0x55)")
    mime = blob.get("mimeType")
    if not isinstance(mime, str) or not mime:
        raise OracleError(f"{path}: blob needs a non-empty string 'mimeType'")
    size = blob.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        raise OracleError(f"{path}: blob needs an integer 'size'")
    if size <= 0:
        raise OracleError(f"{path}: blob 'size' must be positive, not {size}")


def check_data_model(value: Value, path: str = "$") -> None:
    """The data-model rules a decoded value must also meet beyond CBOR: ``$type`` (when present) is a
    non-empty string, and every ``$type: "blob"`` map is a well-formed blob. Raises :class:`OracleError`."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_data_model(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        if "$type" in value:
            type_ = value["$type"]
            if not isinstance(type_, str) or not type_:
                raise OracleError(f"{path}: $type must be a non-empty string")
            if type_ == "blob":
                _check_blob(value, path)
        for key, item in value.items():
            if isinstance(item, list | dict):
                check_data_model(item, f"{path}.{key}")


def to_json(value: Value) -> object:
    """The JSON form of a data-model value: CIDs as ``{"$link"}``, bytes as unpadded ``{"$bytes"}``."""
    if isinstance(value, CID):
        return {"$link": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii").rstrip("=")}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def _refuse_float(text: str) -> object:
    raise OracleError(f"JSON number {text} has a fraction or exponent: floats are not allowed")


def _refuse_constant(text: str) -> object:
    raise OracleError(f"JSON constant {text} is not allowed")


def loads_json(text: str | bytes, *, allow_integral_floats: bool = False) -> Value:
    """Parse JSON text into the data model, telling ``1`` from ``1.0`` (which ``json.loads`` cannot).

    By default any number with a fraction or exponent is refused; with ``allow_integral_floats`` a number
    such as ``123.0`` is read as the integer it denotes.
    """
    parse_float: Callable[[str], object] = _refuse_float
    if allow_integral_floats:

        def parse_float(number: str) -> object:
            as_float = float(number)
            if as_float.is_integer() and abs(as_float) <= I64_MAX:
                return int(as_float)
            return _refuse_float(number)

    try:
        obj = json.loads(text, parse_float=parse_float, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise OracleError(f"not JSON: {exc.msg}", offset=exc.pos) from None
    return from_json(obj)


def cid_for_record(value: object) -> str:
    """The CID a PDS must report for a record given in its JSON form (``$link``, ``$bytes``, blobs)."""
    return str(compute_cid(encode(from_json(value)), DAG_CBOR))
