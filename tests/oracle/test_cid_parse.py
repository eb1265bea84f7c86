"""CID parsing and recomputation: the blessed base32 form only, every alias refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.oracle.cbor import cid_for_record
from atcheck.oracle.cid import CID, DAG_CBOR, RAW, compute_cid, parse_cid, verify_block
from atcheck.oracle.errors import OracleError
from atcheck.paths import vectors_dir

GOOD = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
BLOB = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"


def test_parse_blessed() -> None:
    cid = parse_cid(GOOD, blessed=True)
    assert (cid.version, cid.codec, cid.hash_code, len(cid.digest)) == (1, DAG_CBOR, 0x12, 32)
    assert str(cid) == GOOD
    assert parse_cid(cid.raw) == cid
    assert parse_cid(BLOB, blessed=True).codec == RAW


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "CIDv0"),
        (GOOD.upper(), "base32 lowercase"),
        ("B" + GOOD[1:], "base32 lowercase"),
        (GOOD + "=", "base32 lowercase"),
        ("zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7", "base32 lowercase"),
        (GOOD[:-1] + "n", "canonical base32"),
        (GOOD[:-4], "not valid base32"),
        (GOOD[:-8], "truncated"),
        (" " + GOOD, "base32 lowercase"),
        ("", "base32 lowercase"),
    ],
)
def test_parse_refuses(text: str, problem: str) -> None:
    with pytest.raises(OracleError, match=problem):
        parse_cid(text)


def test_blessed_check() -> None:
    sha512 = CID.build(DAG_CBOR, b"\x00" * 64, hash_code=0x13)
    assert not sha512.is_blessed
    with pytest.raises(OracleError, match="sha-256"):
        parse_cid(str(sha512), blessed=True)
    assert parse_cid(str(sha512)) == sha512


def test_verify_block() -> None:
    data = b"\xa1aa\x01"
    cid = compute_cid(data)
    verify_block(cid, data)
    with pytest.raises(OracleError, match="hashes to"):
        verify_block(cid, data + b"\x00")


def test_cid_for_record_matches_vectors() -> None:
    fixtures = json.loads((vectors_dir() / "data-model" / "data-model-fixtures.json").read_text())
    for case in fixtures:
        assert cid_for_record(case["json"]) == case["cid"]


@given(st.binary(min_size=1, max_size=200), st.sampled_from([DAG_CBOR, RAW]))
def test_compute_round_trip(data: bytes, codec: int) -> None:
    cid = compute_cid(data, codec)
    assert cid.digest == hashlib.sha256(data).digest()
    assert parse_cid(str(cid), blessed=True) == cid
    assert parse_cid(cid.raw) == cid
