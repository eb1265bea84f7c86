"""The strict DAG-CBOR decoder: official data-model vectors, hand-made non-canonical encodings, properties.

Each negative case names the problem the decoder must report and the byte offset it must point at, so a
decoder that rejects for the wrong reason fails too.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import cbrrr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atcheck.oracle.cbor import check_data_model, decode_strict, encode, from_json, loads_json, to_json
from atcheck.oracle.cid import CID, compute_cid, parse_cid
from atcheck.oracle.errors import OracleError
from atcheck.paths import vectors_dir

LINK = parse_cid("bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
LINK_HEX = "d82a582500" + LINK.raw.hex()


def _load(name: str) -> Any:
    return json.loads((vectors_dir() / "data-model" / name).read_text(encoding="utf-8"))


FIXTURES = _load("data-model-fixtures.json")


@pytest.mark.parametrize("case", FIXTURES, ids=[f"fixture{i}" for i in range(len(FIXTURES))])
def test_data_model_fixture_round_trips(case: dict[str, Any]) -> None:
    cbor = base64.b64decode(case["cbor_base64"] + "==")
    value = from_json(case["json"])
    assert encode(value) == cbor
    assert decode_strict(cbor) == value
    assert to_json(decode_strict(cbor)) == case["json"]
    assert str(compute_cid(cbor)) == case["cid"]


@pytest.mark.parametrize("case", _load("data-model-valid.json"), ids=lambda c: c["note"])
def test_data_model_valid(case: dict[str, Any]) -> None:
    value = from_json(case["json"], require_object=True)
    assert decode_strict(encode(value)) == value


@pytest.mark.parametrize("case", _load("data-model-invalid.json"), ids=lambda c: c["note"])
def test_data_model_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(OracleError):
        from_json(case["json"], require_object=True)


BAD = [
    ("fb3ff8000000000000", "floats are not allowed", 0),
    ("fa3fc00000", "floats are not allowed", 0),
    ("f93c00", "floats are not allowed", 0),
    ("a1616181fb3ff8000000000000", "floats are not allowed", 4),
    ("a2616201616101", "out of canonical order", 4),
    ("a262616101616201", "out of canonical order", 5),
    ("a2616101616102", "duplicate map key 'a'", 4),
    ("1801", "integer 1 is not in its shortest form", 0),
    ("190001", "not in its shortest form", 0),
    ("1a0000ffff", "not in its shortest form", 0),
    ("1b00000000ffffffff", "not in its shortest form", 0),
    ("3817", "integer 23 is not in its shortest form", 0),
    ("780161", "text length 1 is not in its shortest form", 0),
    ("9801" + "01", "array length 1 is not in its shortest form", 0),
    ("9f01ff", "indefinite-length array", 0),
    ("d9002a" + LINK_HEX[4:], "tag 42 is not in its shortest form", 0),
    ("a17801" + "61" + "01", "text length 1 is not in its shortest form", 1),
    ("bf616101ff", "indefinite-length map", 0),
    ("5f4101ff", "indefinite-length bytes", 0),
    ("7f6161ff", "indefinite-length text", 0),
    ("c11a5e0be100", "tag 1 is not allowed", 0),
    ("d8 2b 41 00".replace(" ", ""), "tag 43 is not allowed", 0),
    ("f7", "'undefined' is not allowed", 0),
    ("f0", "simple value 16", 0),
    ("f820", "simple values are not allowed", 0),
    ("ff", "invalid additional info 31", 0),
    ("1c", "reserved additional info 28", 0),
    ("a10101", "map key is a uint", 1),
    ("a14161" + "01", "map key is a bytes", 1),
    ("0101", "1 trailing bytes", 1),
    ("1bffffffffffffffff", "beyond the signed 64-bit range", 0),
    ("1b8000000000000000", "beyond the signed 64-bit range", 0),
    ("3b8000000000000000", "beyond the signed 64-bit range", 0),
    ("62c328", "not valid UTF-8", 1),
    ("63eda080", "not valid UTF-8", 1),
    ("6461", "runs past the end", 0),
    ("9a7fffffff", "cannot fit", 0),
    ("19", "unexpected end of data", 0),
    ("", "unexpected end of data", 0),
    ("d82a5825" + "01" + LINK.raw.hex(), "0x00 multibase prefix", 4),
    ("d82a6161", "tag 42 must wrap a byte string", 2),
    ("d82a4100", "empty CID", 4),
    ("d82a582300" + "1220" + "00" * 32, "CIDv0 is not allowed", 5),
    ("d82a582500" + "0071" + "1220" + "00" * 32, "CID version 0", 5),
    ("d82a582400" + "01711220" + "00" * 31, "digest is truncated", 9),
    ("d82a582600" + "01711220" + "00" * 33, "trailing bytes after the CID digest", 41),
    ("d82a582500" + "01701220" + "00" * 32, "codec 0x70", 4),
    ("d82a582500" + "01711320" + "00" * 32, "does not use sha-256", 4),
    ("d82a58260001" + "f100" + "1220" + "00" * 32, "not minimally encoded", 6),
]


@pytest.mark.parametrize(("hexdata", "problem", "offset"), BAD, ids=[b[1] + "@" + b[0][:24] for b in BAD])
def test_rejects_non_canonical_or_forbidden(hexdata: str, problem: str, offset: int) -> None:
    with pytest.raises(OracleError) as info:
        decode_strict(bytes.fromhex(hexdata))
    assert problem in info.value.problem
    assert info.value.offset == offset
    assert f"(at byte {offset})" in str(info.value)


def test_accepts_canonical_basics() -> None:
    assert decode_strict(bytes.fromhex("a2616101616202")) == {"a": 1, "b": 2}
    assert decode_strict(bytes.fromhex("a2617a01626161" + "02")) == {"z": 1, "aa": 2}
    assert decode_strict(bytes.fromhex("3b7fffffffffffffff")) == -(1 << 63)
    assert decode_strict(bytes.fromhex("1b7fffffffffffffff")) == (1 << 63) - 1
    assert decode_strict(bytes.fromhex(LINK_HEX)) == LINK
    assert decode_strict(bytes.fromhex("83f4f5f6")) == [False, True, None]


def test_unblessed_links_allowed_only_on_request() -> None:
    raw = "d82a582500" + "01701220" + "00" * 32
    cid = decode_strict(bytes.fromhex(raw), blessed_links=False)
    assert isinstance(cid, CID) and cid.codec == 0x70


def test_encode_refuses_what_the_data_model_forbids() -> None:
    for bad in (1.5, 1 << 63, -(1 << 63) - 1, {1: 2}, object()):
        with pytest.raises(ValueError):
            encode(bad)


def test_json_side() -> None:
    assert loads_json('{"a": 1, "b": {"$bytes": "AAE"}}') == {"a": 1, "b": b"\x00\x01"}
    with pytest.raises(OracleError, match="floats are not allowed"):
        loads_json('{"a": 1.0}')
    assert loads_json('{"a": 1.0}', allow_integral_floats=True) == {"a": 1}
    with pytest.raises(OracleError, match="floats are not allowed"):
        loads_json('{"a": 1.5}', allow_integral_floats=True)
    with pytest.raises(OracleError, match="constant NaN"):
        loads_json('{"a": NaN}')
    with pytest.raises(OracleError, match="not base64"):
        from_json({"b": {"$bytes": "!!"}})
    with pytest.raises(OracleError, match="beyond the signed 64-bit"):
        from_json({"a": 1 << 63})
    assert to_json({"b": b"\x00\x01", "l": LINK}) == {"b": {"$bytes": "AAE"}, "l": {"$link": str(LINK)}}


# --- properties ------------------------------------------------------------------------------------------

links = st.binary(min_size=32, max_size=32).map(lambda d: CID.build(0x71, d))
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | links
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def _to_cbrrr(value: Any) -> Any:
    if isinstance(value, CID):
        return cbrrr.CID(value.raw)
    if isinstance(value, list):
        return [_to_cbrrr(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_cbrrr(v) for k, v in value.items()}
    return value


@given(values)
def test_round_trip_and_agreement_with_cbrrr(value: Any) -> None:
    data = encode(value)
    assert decode_strict(data) == value
    assert cbrrr.encode_dag_cbor(_to_cbrrr(value)) == data


@settings(max_examples=500)
@given(st.binary(max_size=40))
def test_anything_accepted_is_canonical(data: bytes) -> None:
    """Strictness as a property: whatever the decoder accepts, re-encoding reproduces byte for byte."""
    try:
        value = decode_strict(data)
    except OracleError:
        return
    assert encode(value) == data


@given(values)
def test_every_single_byte_flip_is_rejected_or_canonical(value: Any) -> None:
    data = bytearray(encode(value))
    for i in range(min(len(data), 16)):
        mutated = bytearray(data)
        mutated[i] ^= 0x01
        try:
            decoded = decode_strict(bytes(mutated))
        except OracleError:
            continue
        assert encode(decoded) == bytes(mutated)


BLOB_REF = CID.build(0x55, bytes(32))


@pytest.mark.parametrize(
    ("blob", "problem"),
    [
        ({"$type": "blob", "mimeType": "image/png", "size": 1}, "needs a 'ref' link"),
        ({"$type": "blob", "ref": LINK, "mimeType": "image/png", "size": 1}, "not raw"),
        ({"$type": "blob", "ref": BLOB_REF, "mimeType": "", "size": 1}, "non-empty string 'mimeType'"),
        ({"$type": "blob", "ref": BLOB_REF, "mimeType": "image/png", "size": 0}, "must be positive"),
        ({"$type": "blob", "ref": BLOB_REF, "mimeType": "image/png", "size": True}, "integer 'size'"),
        ({"$type": ""}, "non-empty string"),
    ],
)
def test_data_model_checks_on_decoded_values(blob: dict[str, Any], problem: str) -> None:
    with pytest.raises(OracleError, match=problem) as info:
        check_data_model({"a": [{"b": blob}]})
    assert "$.a[0].b" in str(info.value)
    with pytest.raises(OracleError, match=problem):
        from_json(to_json({"a": [{"b": blob}]}))


def test_good_blob_passes() -> None:
    blob = {"$type": "blob", "ref": BLOB_REF, "mimeType": "image/png", "size": 12}
    check_data_model({"embed": blob})
    assert from_json(to_json(blob)) == blob
