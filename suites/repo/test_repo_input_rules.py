"""What a PDS must refuse on write: bad record keys and collections, and records outside the data model.

Spec: https://atproto.com/specs/record-key, https://atproto.com/specs/nsid, https://atproto.com/specs/data-model,
https://atproto.com/specs/repository (repository paths). A refusal is a 4xx XRPC error; a 2xx means the server
stored something the protocol does not allow, and a 5xx means it did not check.
"""

from __future__ import annotations

import secrets

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from atcheck.suite import (
    SUITE_SETTINGS,
    Account,
    ConformanceFailure,
    XrpcResponse,
    expect_absent,
    expect_equal,
    expect_error,
    expect_ok,
    new_rkey,
    note,
    put_record,
    put_record_json,
)
from atcheck.suite.oracle import cid_for_record, is_valid_record_key

COLLECTION = "com.example.atcheck.rules"
RKEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:~-"


def expect_refused(resp: XrpcResponse) -> None:
    expect_error(resp, (400, 413))


def expect_not_written(account: Account, rkey: str, resp: XrpcResponse) -> None:
    """The write did not succeed and left nothing: no 2xx, and getRecord says ``RecordNotFound``.

    For a data-model rule the verdict is what was stored, not which error came back (that is XRPC-ERR-06's).
    """
    if 200 <= resp.status < 300:
        raise ConformanceFailure(
            "the write to be refused (a 4xx)", f"HTTP {resp.status} {resp.text[:200]!r}", resp
        )
    expect_absent(account, rkey, collection=COLLECTION)


# -- record keys -----------------------------------------------------------------------------------------

_valid_rkeys = st.text(st.sampled_from(RKEY_ALPHABET), min_size=1, max_size=64).filter(
    lambda k: k not in (".", "..")
)
_bad_chars = st.characters(codec="utf-8").filter(lambda c: c not in RKEY_ALPHABET)
_invalid_rkeys = st.one_of(
    st.sampled_from([".", "..", ""]),
    st.text(st.sampled_from(RKEY_ALPHABET), min_size=513, max_size=520),
    st.tuples(
        st.text(st.sampled_from(RKEY_ALPHABET), max_size=8),
        _bad_chars,
        st.text(st.sampled_from(RKEY_ALPHABET), max_size=8),
    ).map("".join),
)


@pytest.mark.requirement("SYN-RKEY-01")
@pytest.mark.needs("repo.write", "repo.read")
@SUITE_SETTINGS
@given(rkey=_valid_rkeys)
@example(rkey="~")  # every punctuation character the spec allows, always tried
@example(rkey=":")
@example(rkey="_")
@example(rkey="-")
@example(rkey=".well")
def test_any_valid_record_key_is_accepted(module_account: Account, rkey: str) -> None:
    record = note(f"key {rkey}", COLLECTION)
    expect_ok(put_record(module_account, record, rkey=rkey, collection=COLLECTION))
    resp = module_account.client.query(
        "com.atproto.repo.getRecord", {"repo": module_account.did, "collection": COLLECTION, "rkey": rkey}
    )
    expect_equal(
        expect_ok(resp).get("cid"), cid_for_record(record), f"the cid of the record at rkey {rkey!r}", resp
    )


@pytest.mark.requirement("SYN-RKEY-01", "SYN-RKEY-02", "REPO-MST-01")
@pytest.mark.needs("repo.write")
@settings(SUITE_SETTINGS, max_examples=12)
@given(rkey=_invalid_rkeys)
def test_invalid_record_keys_are_refused(module_account: Account, rkey: str) -> None:
    assert not is_valid_record_key(rkey), "generator invariant: only invalid keys"
    expect_refused(
        put_record(module_account, note("must not be stored", COLLECTION), rkey=rkey, collection=COLLECTION)
    )


@pytest.mark.requirement("SYN-RKEY-01")
@pytest.mark.needs("repo.write")
def test_record_key_length_boundary(module_account: Account) -> None:
    """512 characters is the longest record key; 513 is refused."""
    longest = ("k" + secrets.token_hex(8) + "x" * 512)[:512]
    expect_ok(
        put_record(module_account, note("longest key", COLLECTION), rkey=longest, collection=COLLECTION)
    )
    expect_refused(
        put_record(
            module_account, note("one too long", COLLECTION), rkey=longest + "y", collection=COLLECTION
        )
    )


@pytest.mark.requirement("REPO-MST-01", "SYN-RKEY-01")
@pytest.mark.needs("repo.write")
@pytest.mark.parametrize(
    "rkey", ["a/b", "/lead", "trail/"], ids=["three-segments", "leading-slash", "trailing-slash"]
)
def test_record_keys_cannot_add_path_segments(module_account: Account, rkey: str) -> None:
    expect_refused(
        put_record(module_account, note("path injection", COLLECTION), rkey=rkey, collection=COLLECTION)
    )


# -- collections -------------------------------------------------------------------------------------------

_BAD_COLLECTIONS = {
    "no-dots": "notannsid",
    "two-segments": "com.example",
    "empty-segment": "com..example.thing",
    "hyphen-in-name": "com.example.foo-bar",
    "leading-digit-name": "com.example.3things",
    "slash": "com.example/thing.x",
    "trailing-dot": "com.example.thing.",
}


@pytest.mark.requirement("SYN-NSID-01", "SYN-NSID-02", "SYN-NSID-03")
@pytest.mark.needs("repo.write")
@pytest.mark.parametrize("case", sorted(_BAD_COLLECTIONS))
def test_collection_must_be_an_nsid(module_account: Account, case: str) -> None:
    collection = _BAD_COLLECTIONS[case]
    expect_refused(
        put_record(
            module_account,
            note("bad collection", collection),
            rkey=f"c{secrets.token_hex(4)}",
            collection=collection,
        )
    )


@pytest.mark.requirement("LEX-VAL-20")
@pytest.mark.needs("repo.write")
def test_record_type_other_than_the_collection_is_refused(module_account: Account) -> None:
    """Implied, never stated (so SHOULD): a record in a repository is "often known from context (eg, the
    collection part of the path"; a different ``$type`` makes the two disagree."""
    record = {"$type": "com.example.atcheck.elsewhere", "text": "typed wrong"}
    expect_refused(put_record(module_account, record, rkey=f"t{secrets.token_hex(4)}", collection=COLLECTION))


@pytest.mark.requirement("LEX-VAL-14")
@pytest.mark.needs("repo.write", "repo.read")
def test_a_record_is_never_stored_without_its_type(module_account: Account) -> None:
    """Stored records always carry ``$type`` = their collection. Given none, a server may refuse the write or
    fill in the collection (the reference PDS does); it must not store a record without one."""
    rkey = f"t{secrets.token_hex(4)}"
    resp = put_record(module_account, {"text": "untyped"}, rkey=rkey, collection=COLLECTION)
    if resp.status >= 400:
        expect_refused(resp)
        return
    expect_ok(resp)
    resp = module_account.client.query(
        "com.atproto.repo.getRecord", {"repo": module_account.did, "collection": COLLECTION, "rkey": rkey}
    )
    stored = expect_ok(resp).get("value")
    if not isinstance(stored, dict):
        raise ConformanceFailure("the stored record (an object)", stored, resp)
    expect_equal(stored.get("$type"), COLLECTION, "the stored record's $type", resp)
    expect_equal(expect_ok(resp).get("cid"), cid_for_record(stored), "the stored record's cid", resp)


# -- data model --------------------------------------------------------------------------------------------


@pytest.mark.requirement("DM-TYPE-02")
@pytest.mark.needs("repo.write", "repo.read")
@pytest.mark.parametrize("number", ["1.5", "-0.25", "2.5e-3"])
def test_floats_are_refused(module_account: Account, number: str) -> None:
    """Floats are not in the data model: the write is refused and nothing is stored. (Integer-valued ``1.0``
    is tolerated by the official vectors.)"""
    rkey = new_rkey("lit")
    resp = put_record_json(
        module_account, f'{{"$type": "{COLLECTION}", "n": {number}}}', rkey=rkey, collection=COLLECTION,
        validate=False,
    )  # fmt: skip
    expect_not_written(module_account, rkey, resp)


_BEYOND_I64 = pytest.mark.parametrize(
    "number", ["9223372036854775808", "-9223372036854775809"], ids=["2^63", "-2^63-1"]
)


@pytest.mark.requirement("DM-TYPE-03")
@pytest.mark.needs("repo.write", "repo.read")
@_BEYOND_I64
def test_integers_beyond_64_bits_are_refused(module_account: Account, number: str) -> None:
    """Integers are at most 64 bits: the write is refused and nothing is stored (the status is judged by
    :func:`test_integers_beyond_64_bits_are_answered_with_400`)."""
    rkey = new_rkey("lit")
    resp = put_record_json(
        module_account, f'{{"$type": "{COLLECTION}", "n": {number}}}', rkey=rkey, collection=COLLECTION,
        validate=False,
    )  # fmt: skip
    expect_not_written(module_account, rkey, resp)


@pytest.mark.requirement("XRPC-ERR-06")
@pytest.mark.needs("repo.write")
@_BEYOND_I64
def test_integers_beyond_64_bits_are_answered_with_400(module_account: Account, number: str) -> None:
    """Invalid input is a client error: 400 "Request was invalid, and was not processed", not a 500 that
    tells the client it "may retry"."""
    expect_refused(
        put_record_json(
            module_account,
            f'{{"$type": "{COLLECTION}", "n": {number}}}',
            rkey=new_rkey("lit"),
            collection=COLLECTION,
            validate=False,
        )
    )


_MALFORMED = {
    "link-not-a-string": {"$link": 123},
    "link-bogus-cid": {"$link": "not-a-cid"},
    "link-extra-key": {"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm", "extra": 1},
    "bytes-not-base64": {"$bytes": "%%% not base64 %%%"},
    "bytes-extra-key": {"$bytes": "aGVsbG8=", "extra": 1},
    "bytes-not-a-string": {"$bytes": [1, 2, 3]},
}


#: Each case names only the rule it breaks: a malformed ``$link`` is DM-JSON-01's, a malformed ``$bytes``
#: DM-JSON-02's; both are DM-VAL-01 (data-model rules hold whatever the validation mode).
_MALFORMED_CASES = [
    pytest.param(
        case, marks=pytest.mark.requirement("DM-JSON-01" if case.startswith("link") else "DM-JSON-02")
    )
    for case in sorted(_MALFORMED)
]
#: Explicit no validation, and the default (optimistic: the Lexicon of com.example.* is unknown).
_VALIDATION_MODES = {"validate-false": {"validate": False}, "validate-unset": {}}


@pytest.mark.requirement("DM-VAL-01")
@pytest.mark.needs("repo.write", "repo.read")
@pytest.mark.parametrize("mode", sorted(_VALIDATION_MODES))
@pytest.mark.parametrize("case", _MALFORMED_CASES)
def test_malformed_special_objects_are_refused_even_without_validation(
    module_account: Account, case: str, mode: str
) -> None:
    """``$link``/``$bytes`` objects are data-model types, checked at any depth with validation off or unset
    ("The record still has to pass data validation rules"): refused, and nothing stored."""
    record = {"$type": COLLECTION, "outer": {"inner": [_MALFORMED[case]]}}
    rkey = f"m{secrets.token_hex(4)}"
    resp = put_record(module_account, record, rkey=rkey, collection=COLLECTION, **_VALIDATION_MODES[mode])
    expect_refused(resp)
    expect_absent(module_account, rkey, collection=COLLECTION)


@pytest.mark.requirement("DM-SIZE-01")
@pytest.mark.needs("repo.write")
def test_a_record_over_one_megabyte_is_refused(module_account: Account) -> None:
    record = {"$type": COLLECTION, "blob": "x" * 1_100_000}
    expect_refused(
        put_record(module_account, record, rkey=f"big{secrets.token_hex(4)}", collection=COLLECTION)
    )


_BAD_NESTED_TYPES: dict[str, object] = {"null": None, "number": 123, "empty": ""}


@pytest.mark.requirement("DM-TYPE-08")
@pytest.mark.needs("repo.write")
@pytest.mark.parametrize("case", sorted(_BAD_NESTED_TYPES))
def test_a_present_type_must_be_a_non_empty_string(module_account: Account, case: str) -> None:
    """``$type`` anywhere in a record, when present, is a non-empty string (null, 123 and "" are invalid)."""
    record = {"$type": COLLECTION, "inner": {"$type": _BAD_NESTED_TYPES[case], "a": 1}}
    expect_refused(
        put_record(
            module_account, record, rkey=f"nt{secrets.token_hex(4)}", collection=COLLECTION, validate=False
        )
    )
