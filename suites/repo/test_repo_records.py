"""Record writes and reads (com.atproto.repo.*): what goes in comes out, under the CID the data model says.

Spec: https://atproto.com/specs/repository and https://atproto.com/specs/data-model. Every CID a server
returns for a record is compared with atcheck's own computation (DRISL-CBOR of the record, CIDv1 dag-cbor
sha-256), so a server that hashes a different encoding, or reports a CID for something other than what it
stored, fails.

Records use an unknown Lexicon (``com.example.atcheck.*``) so that servers store them optimistically, without
app-level validation, and any data-model value can be sent.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from atcheck.suite import (
    COLLECTION,
    SUITE_SETTINGS,
    Account,
    ConformanceFailure,
    XrpcResponse,
    expect,
    expect_absent,
    expect_equal,
    expect_error,
    expect_ok,
    expect_stored,
    expect_valid,
    latest_commit,
    lexicon_schema,
    new_rkey,
    note,
    put_record_json,
    read_record,
    record_uri,
    write_record,
)
from atcheck.suite.oracle import (
    RAW,
    OracleError,
    cid_for_record,
    compute_cid,
    from_json,
    is_valid_tid,
    to_json,
)

OTHER_COLLECTION = "com.example.atcheck.other"


# -- create / get / put / delete ------------------------------------------------------------------------


@pytest.mark.requirement("REPO-REC-01", "SYN-URI-07", "XRPC-HTTP-08")
@pytest.mark.needs("repo.write", "repo.read")
def test_create_record_returns_uri_and_cid_of_the_stored_record(module_account: Account) -> None:
    record = note("hello from atcheck")
    resp = module_account.client.procedure(
        "com.atproto.repo.createRecord",
        {"repo": module_account.did, "collection": COLLECTION, "record": record},
    )
    got = expect_ok(resp)
    expect_valid(
        got, lexicon_schema("com.atproto.repo.createRecord", "output"), "the createRecord output", resp
    )
    expect_equal(got["cid"], cid_for_record(record), "createRecord's cid (DAG-CBOR CID of the record)", resp)
    prefix = f"at://{module_account.did}/{COLLECTION}/"
    expect(got["uri"].startswith(prefix), f"a record URI starting {prefix}", got["uri"], resp)
    rkey = got["uri"][len(prefix) :]
    expect_stored(module_account, rkey, record)


@pytest.mark.requirement("SYN-TID-01", "SYN-TID-04")
@pytest.mark.needs("repo.write")
def test_generated_record_keys_are_increasing_tids(module_account: Account) -> None:
    """Without an rkey, createRecord picks one; for a TID-keyed record that is a fresh TID, never repeated."""
    rkeys = []
    for i in range(3):
        resp = module_account.client.procedure(
            "com.atproto.repo.createRecord",
            {
                "repo": module_account.did,
                "collection": OTHER_COLLECTION,
                "record": note(f"n{i}", OTHER_COLLECTION),
            },
        )
        rkeys.append(str(expect_ok(resp).get("uri", "")).rsplit("/", 1)[-1])
    for rkey in rkeys:
        expect(is_valid_tid(rkey), "a generated record key that is a TID", rkey)
    expect(
        rkeys == sorted(rkeys) and len(set(rkeys)) == len(rkeys), "strictly increasing generated TIDs", rkeys
    )


@pytest.mark.requirement("SYN-ATID-01")
@pytest.mark.needs("repo.write", "repo.read")
def test_get_record_accepts_handle_or_did(module_account: Account) -> None:
    rkey = new_rkey("atid")
    write_record(module_account, note("by handle"), rkey=rkey)
    params = {"collection": COLLECTION, "rkey": rkey}
    by_did = expect_ok(
        module_account.client.query("com.atproto.repo.getRecord", {"repo": module_account.did, **params})
    )
    resp = module_account.client.query(
        "com.atproto.repo.getRecord", {"repo": module_account.handle, **params}
    )
    expect_equal(expect_ok(resp), by_did, "getRecord by handle (same as by DID)", resp)


@pytest.mark.requirement("SYN-URI-07", "SYN-ATID-01")
@pytest.mark.needs("repo.write")
def test_write_by_handle_returns_a_did_uri(module_account: Account) -> None:
    """Writes name the repo by handle or DID; the record URI they return always has the DID as authority."""
    rkey = new_rkey("byhandle")
    resp = module_account.client.procedure(
        "com.atproto.repo.putRecord",
        {"repo": module_account.handle, "collection": COLLECTION, "rkey": rkey, "record": note("by handle")},
    )
    expect_equal(
        expect_ok(resp).get("uri"), record_uri(module_account, rkey), "the record URI (DID authority)", resp
    )


@pytest.mark.requirement("REPO-REC-01")
@pytest.mark.needs("repo.write", "repo.read")
def test_put_record_creates_then_updates(module_account: Account) -> None:
    rkey = new_rkey("put")
    first, second = note("first version"), note("second version")
    written = write_record(module_account, first, rkey=rkey)
    expect_equal(written.cid, cid_for_record(first), "putRecord's cid for the created record")
    expect_stored(module_account, rkey, first)
    written = write_record(module_account, second, rkey=rkey)
    expect_equal(written.cid, cid_for_record(second), "putRecord's cid for the updated record")
    expect_stored(module_account, rkey, second)


@pytest.mark.requirement("XRPC-HTTP-08")
@pytest.mark.needs("repo.write")
def test_delete_record_answers_with_its_lexicon_output(module_account: Account) -> None:
    rkey = new_rkey("delout")
    write_record(module_account, note("short-lived"), rkey=rkey)
    resp = module_account.client.procedure(
        "com.atproto.repo.deleteRecord", {"repo": module_account.did, "collection": COLLECTION, "rkey": rkey}
    )
    got = expect_ok(resp)
    expect_valid(
        got, lexicon_schema("com.atproto.repo.deleteRecord", "output"), "the deleteRecord output", resp
    )


@pytest.mark.requirement("REPO-REC-02", "ACCT-12", "XRPC-ERR-02")
@pytest.mark.needs("repo.write", "repo.read")
def test_deleted_record_is_gone_like_one_that_never_was(module_account: Account) -> None:
    """After deleteRecord (whatever it answered: its answer has its own test), getRecord finds nothing, and
    says so exactly as it does for a record that never existed."""
    rkey = new_rkey("del")
    write_record(module_account, note("short-lived"), rkey=rkey)
    module_account.client.procedure(
        "com.atproto.repo.deleteRecord", {"repo": module_account.did, "collection": COLLECTION, "rkey": rkey}
    )
    deleted = expect_absent(module_account, rkey)
    never = expect_absent(module_account, new_rkey("never"))
    expect_equal(
        deleted["error"], never["error"], "the error for a deleted record (same as for a never-written one)"
    )


@pytest.mark.requirement("SYN-RKEY-03")
@pytest.mark.needs("repo.write", "repo.read")
def test_record_keys_are_case_sensitive(module_account: Account) -> None:
    stem = new_rkey("case")
    lower, upper = note("lower"), note("upper")
    write_record(module_account, lower, rkey=stem + "abc")
    write_record(module_account, upper, rkey=stem + "ABC")
    expect_stored(module_account, stem + "abc", lower)
    expect_stored(module_account, stem + "ABC", upper)


@pytest.mark.requirement("SYN-RKEY-05")
@pytest.mark.needs("repo.write", "repo.read")
def test_same_rkey_in_two_collections(module_account: Account) -> None:
    rkey = new_rkey("two")
    a, b = note("in one"), note("in other", OTHER_COLLECTION)
    write_record(module_account, a, rkey=rkey)
    write_record(module_account, b, rkey=rkey, collection=OTHER_COLLECTION)
    expect_stored(module_account, rkey, a)
    expect_stored(module_account, rkey, b, collection=OTHER_COLLECTION)


# -- applyWrites -------------------------------------------------------------------------------------------


@pytest.mark.requirement("REPO-REC-01", "REPO-WRITE-01", "XRPC-HTTP-08")
@pytest.mark.needs("repo.apply-writes", "repo.write", "repo.read")
def test_apply_writes_creates_updates_and_deletes_in_one_call(module_account: Account) -> None:
    keep, drop, fresh = new_rkey("aw"), new_rkey("aw"), new_rkey("aw")
    write_record(module_account, note("before"), rkey=keep)
    write_record(module_account, note("doomed"), rkey=drop)
    created, updated = note("created by applyWrites"), note("updated by applyWrites")
    writes = [
        {
            "$type": "com.atproto.repo.applyWrites#create",
            "collection": COLLECTION,
            "rkey": fresh,
            "value": created,
        },
        {
            "$type": "com.atproto.repo.applyWrites#update",
            "collection": COLLECTION,
            "rkey": keep,
            "value": updated,
        },
        {"$type": "com.atproto.repo.applyWrites#delete", "collection": COLLECTION, "rkey": drop},
    ]
    resp = module_account.client.procedure(
        "com.atproto.repo.applyWrites", {"repo": module_account.did, "writes": writes}
    )
    got = expect_ok(resp)
    expect_valid(
        got, lexicon_schema("com.atproto.repo.applyWrites", "output"), "the applyWrites output", resp
    )
    results = got.get("results")
    if isinstance(results, list):  # optional in the Lexicon; when present, one per write, in order
        expect_equal(len(results), 3, "the number of applyWrites results", resp)
        expect_equal(results[0].get("cid"), cid_for_record(created), "the create result's cid", resp)
        expect_equal(results[1].get("cid"), cid_for_record(updated), "the update result's cid", resp)
        expect_equal(
            results[0].get("uri"), record_uri(module_account, fresh), "the create result's uri", resp
        )
    expect_stored(module_account, fresh, created)
    expect_stored(module_account, keep, updated)
    expect_absent(module_account, drop)


@pytest.mark.requirement("REPO-WRITE-01")
@pytest.mark.needs("repo.apply-writes", "repo.write", "repo.read", "sync.latest-commit")
def test_apply_writes_is_all_or_nothing(module_account: Account) -> None:
    """``com.atproto.repo.applyWrites`` applies "a batch transaction": when one write of the batch is
    invalid (here the second, a record key ``..`` that the record-key spec forbids), the call fails and the
    first write is not applied either: no record, and no new commit."""
    kept, before = new_rkey("batch"), latest_commit(module_account.client, module_account.did)
    writes = [
        {
            "$type": "com.atproto.repo.applyWrites#create",
            "collection": COLLECTION,
            "rkey": kept,
            "value": note("1"),
        },
        {
            "$type": "com.atproto.repo.applyWrites#create",
            "collection": COLLECTION,
            "rkey": "..",
            "value": note("2"),
        },
    ]
    resp = module_account.client.procedure(
        "com.atproto.repo.applyWrites", {"repo": module_account.did, "writes": writes}
    )
    if 200 <= resp.status < 300:
        pytest.skip("the server accepted the invalid key '..': no failed batch to judge (see the rkey tests)")
    expect_error(resp, 400)
    expect_absent(module_account, kept)
    after = latest_commit(module_account.client, module_account.did)
    expect_equal(after.rev, before.rev, "the repo's rev after a failed batch (no commit)", resp)


# -- property: any data-model record round-trips under the oracle's CID ------------------------------------

#: Keys some JavaScript stacks treat specially; they are valid map keys, judged by their own test below, and
#: kept out of the random records so that this property speaks only about round-trips and CIDs.
JS_SPECIAL_KEYS = ("__proto__", "constructor", "prototype", "toString", "hasOwnProperty")
_keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=10).filter(
    lambda k: not k.startswith("$") and k not in JS_SPECIAL_KEYS
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(st.characters(codec="utf-8"), max_size=30)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
records = st.dictionaries(_keys, _values, max_size=6).map(lambda fields: {**fields, "$type": COLLECTION})


#: Always tried first, so a run of few examples still sends every kind of value (Hypothesis starts from the
#: simplest record, a bare ``$type``).
RICH_RECORD = {
    "$type": COLLECTION,
    "null": None,
    "flags": [True, False],
    "ints": [0, -1, 2**53 - 1, -(2**53) + 1],
    "text": "Zoë 🦋 e\u0301 ﷽",
    "empty": {"list": [], "map": {}, "text": ""},
    "deep": {"a": [{"b": [None, {"c": "d"}]}]},
}


@pytest.mark.requirement("REPO-REC-01", "DM-TYPE-06", "DM-TYPE-04", "DM-CBOR-05")
@pytest.mark.needs("repo.write", "repo.read")
@SUITE_SETTINGS
@given(record=records)
@example(record=RICH_RECORD)
def test_any_data_model_record_round_trips_with_the_oracle_cid(
    module_account: Account, record: dict[str, Any]
) -> None:
    """putRecord then getRecord gives back the same value (nulls, empty containers, unicode kept) and CID.

    Integers stay within 53 bits here, where the data model asks writers to keep them; 54 to 64 bits have
    their own test. Keys starting with ``$`` are reserved, and the JavaScript-special ones have theirs too.
    """
    rkey = new_rkey("pbt")
    written = write_record(module_account, record, rkey=rkey)
    expect_equal(written.cid, cid_for_record(record), "putRecord's cid (DAG-CBOR CID of the record)")
    expect_stored(module_account, rkey, record)


_WIDE_INTEGERS = pytest.mark.parametrize(
    "number", [2**53 + 1, 2**60 + 7, 2**63 - 1, -(2**63)], ids=["2^53+1", "2^60+7", "2^63-1", "-2^63"]
)


@pytest.mark.requirement("DM-TYPE-03")
@pytest.mark.needs("repo.write", "repo.read")
@_WIDE_INTEGERS
def test_integers_of_54_to_64_bits_are_kept_exactly_or_refused(module_account: Account, number: int) -> None:
    """Integers are 64-bit ("`integer` is limited to 64 bits"); keeping them to 53 bits is only a best
    practice for writers. So a server may refuse such a value (nothing is then stored), but what it stores
    must be exact: a value rounded through a 53-bit float would change the record and its CID. (The status
    of a refusal is judged by ``test_a_refused_wide_integer_is_answered_with_400``.)"""
    record = {"$type": COLLECTION, "n": number}
    rkey = new_rkey("i64")
    resp = put_record_json(
        module_account, json.dumps(record), rkey=rkey, collection=COLLECTION, validate=False
    )
    if resp.status >= 400:
        expect_absent(module_account, rkey)
        return
    expect_equal(
        expect_ok(resp).get("cid"), cid_for_record(record), f"putRecord's cid for n = {number}", resp
    )
    read = read_record(module_account, rkey)
    got = json.loads(read.text) if read.status == 200 else None
    stored = got.get("value") if isinstance(got, dict) else None
    expect_equal(stored, record, f"the stored record, n = {number} exactly", read)


@pytest.mark.requirement("XRPC-ERR-06")
@pytest.mark.needs("repo.write")
@_WIDE_INTEGERS
def test_a_refused_wide_integer_is_answered_with_400(module_account: Account, number: int) -> None:
    """If a server refuses a 54-to-64-bit integer, the refusal is a client error (400), not a 500."""
    record = {"$type": COLLECTION, "n": number}
    resp = put_record_json(
        module_account, json.dumps(record), rkey=new_rkey("i64"), collection=COLLECTION, validate=False
    )
    if resp.status < 400:
        pytest.skip(f"the server accepted n = {number}: no refusal to judge")
    expect_error(resp, (400, 413))


def _b64(data: bytes, padded: bool) -> str:
    text = base64.b64encode(data).decode("ascii")
    return text if padded else text.rstrip("=")


_bytes_values = st.builds(
    lambda data, padded: {"$bytes": _b64(data, padded)}, st.binary(max_size=40), st.booleans()
)
_link_values = st.binary(max_size=16).map(
    lambda seed: {"$link": cid_for_record({"seed": {"$bytes": _b64(seed, True)}})}
) | st.binary(max_size=16).map(lambda data: {"$link": str(compute_cid(data, RAW))})  # links to blobs: raw
special_records = st.fixed_dictionaries(
    {
        "$type": st.just(COLLECTION),
        "blob": _bytes_values,
        "ref": _link_values,
        "mixed": st.lists(_bytes_values | _link_values | _scalars, max_size=4),
    }
)


def normalised(value: Any, what: str, resp: XrpcResponse | None = None) -> Any:
    """The canonical JSON form (unpadded ``$bytes``, ``$link`` strings as the CID prints), to compare values
    whose JSON spelling may legitimately differ."""
    try:
        return to_json(from_json(value))
    except OracleError as exc:
        raise ConformanceFailure(f"{what} in the data model's JSON form", str(exc), resp) from None


@pytest.mark.requirement("DM-JSON-02", "DM-JSON-04", "REPO-REC-01")
@pytest.mark.needs("repo.write", "repo.read")
@SUITE_SETTINGS
@given(record=special_records)
def test_bytes_and_links_round_trip_with_the_oracle_cid(
    module_account: Account, record: dict[str, Any]
) -> None:
    """``$bytes`` (padded or not) and ``$link`` hash as CBOR bytes and tag-42 links, and come back equal."""
    rkey = new_rkey("special")
    written = write_record(module_account, record, rkey=rkey)
    expect_equal(written.cid, cid_for_record(record), "putRecord's cid (bytes and links as CBOR types)")
    resp = read_record(module_account, rkey)
    stored = expect_ok(resp)
    expect_equal(stored.get("cid"), cid_for_record(record), "getRecord's cid", resp)
    expect_equal(
        normalised(stored.get("value"), "the stored value", resp),
        normalised(record, "the record sent"),
        "the stored value (bytes and links compared by content)",
        resp,
    )


@pytest.mark.requirement("DM-TYPE-09")
@pytest.mark.needs("repo.write", "repo.read")
@pytest.mark.parametrize("key", JS_SPECIAL_KEYS)
def test_any_non_empty_string_is_a_map_key(module_account: Account, key: str) -> None:
    """Map keys are any non-empty strings: names that mean something to a JavaScript runtime are data too.

    An interop note (MAY): the data model allows these keys, but no sentence requires a PDS to store them.
    """
    record = {"$type": COLLECTION, key: 1, "nested": {key: "x"}}
    rkey = new_rkey("key")
    written = write_record(module_account, record, rkey=rkey)
    expect_equal(written.cid, cid_for_record(record), f"putRecord's cid for a record with key {key!r}")
    expect_stored(module_account, rkey, record)


@pytest.mark.requirement("DM-JSON-03", "REPO-REC-01")
@pytest.mark.needs("repo.write", "repo.read")
def test_json_key_order_and_whitespace_do_not_change_the_cid(module_account: Account) -> None:
    """JSON is not canonical: the same record sent with its keys in another order hashes the same."""
    record = {"$type": COLLECTION, "zeta": 1, "alpha": {"b": [1, 2], "a": None}, "mid": "x", "aa": True}
    reordered = dict(reversed(list(record.items())))
    for variant in (record, reordered):
        rkey = new_rkey("order")
        body = {"record": variant, "rkey": rkey, "collection": COLLECTION, "repo": module_account.did}
        raw = json.dumps(body, indent=3, separators=(" ,", " :  ")).encode()
        resp = module_account.client.procedure(
            "com.atproto.repo.putRecord", data=raw, content_type="application/json"
        )
        got = expect_ok(resp)
        expect_equal(
            got.get("cid"), cid_for_record(record), "putRecord's cid, whatever the JSON key order", resp
        )


# -- swaps: compare-and-swap on commit and record --------------------------------------------------------


@pytest.mark.requirement("REPO-SWAP-01", "XRPC-ERR-02", "XRPC-ERR-03")
@pytest.mark.needs("repo.swap", "repo.write", "repo.read", "sync.latest-commit")
def test_create_with_a_stale_swap_commit_is_invalid_swap(module_account: Account) -> None:
    stale = latest_commit(module_account.client, module_account.did).cid
    write_record(module_account, note("moves the head on"), rkey=new_rkey("move"))
    rkey = new_rkey("swapc")
    resp = module_account.client.procedure(
        "com.atproto.repo.createRecord",
        {
            "repo": module_account.did,
            "collection": COLLECTION,
            "rkey": rkey,
            "record": note("x"),
            "swapCommit": stale,
        },
    )
    expect_error(resp, 400, "InvalidSwap")
    expect_absent(module_account, rkey)


@pytest.mark.requirement("REPO-SWAP-01")
@pytest.mark.needs("repo.swap", "repo.write", "repo.read", "sync.latest-commit")
def test_create_with_the_current_swap_commit_succeeds(module_account: Account) -> None:
    rkey = new_rkey("swapok")
    record = note("swap ok")
    resp = module_account.client.procedure(
        "com.atproto.repo.createRecord",
        {
            "repo": module_account.did,
            "collection": COLLECTION,
            "rkey": rkey,
            "record": record,
            "swapCommit": latest_commit(module_account.client, module_account.did).cid,
        },
    )
    expect_ok(resp)
    expect_stored(module_account, rkey, record)


@pytest.mark.requirement("REPO-SWAP-02", "XRPC-ERR-02", "XRPC-ERR-03")
@pytest.mark.needs("repo.swap", "repo.write", "repo.read")
def test_put_with_a_wrong_swap_record_is_invalid_swap(module_account: Account) -> None:
    rkey = new_rkey("swapr")
    current = note("current")
    write_record(module_account, current, rkey=rkey)
    wrong = cid_for_record(note("not what is stored"))
    resp = module_account.client.procedure(
        "com.atproto.repo.putRecord",
        {
            "repo": module_account.did,
            "collection": COLLECTION,
            "rkey": rkey,
            "record": note("replacement"),
            "swapRecord": wrong,
        },
    )
    expect_error(resp, 400, "InvalidSwap")
    expect_stored(module_account, rkey, current)


@pytest.mark.requirement("REPO-SWAP-02")
@pytest.mark.needs("repo.swap", "repo.write", "repo.read")
def test_put_with_the_current_swap_record_succeeds(module_account: Account) -> None:
    rkey = new_rkey("swaprok")
    current, replacement = note("current"), note("replacement")
    write_record(module_account, current, rkey=rkey)
    resp = module_account.client.procedure(
        "com.atproto.repo.putRecord",
        {
            "repo": module_account.did,
            "collection": COLLECTION,
            "rkey": rkey,
            "record": replacement,
            "swapRecord": cid_for_record(current),
        },
    )
    expect_ok(resp)
    expect_stored(module_account, rkey, replacement)


@pytest.mark.requirement("REPO-SWAP-02", "XRPC-ERR-02", "XRPC-ERR-03")
@pytest.mark.needs("repo.swap", "repo.write", "repo.read")
def test_delete_with_a_wrong_swap_record_is_invalid_swap(module_account: Account) -> None:
    rkey = new_rkey("swapd")
    current = note("survives")
    write_record(module_account, current, rkey=rkey)
    resp = module_account.client.procedure(
        "com.atproto.repo.deleteRecord",
        {
            "repo": module_account.did,
            "collection": COLLECTION,
            "rkey": rkey,
            "swapRecord": cid_for_record(note("something else")),
        },
    )
    expect_error(resp, 400, "InvalidSwap")
    expect_stored(module_account, rkey, current)


@pytest.mark.requirement("REPO-SWAP-01", "REPO-WRITE-01", "XRPC-ERR-02", "XRPC-ERR-03")
@pytest.mark.needs("repo.swap", "repo.apply-writes", "repo.read", "sync.latest-commit")
def test_apply_writes_with_a_stale_swap_commit_applies_nothing(module_account: Account) -> None:
    stale = latest_commit(module_account.client, module_account.did).cid
    write_record(module_account, note("moves the head on"), rkey=new_rkey("move"))
    rkey = new_rkey("swapaw")
    writes = [
        {
            "$type": "com.atproto.repo.applyWrites#create",
            "collection": COLLECTION,
            "rkey": rkey,
            "value": note("x"),
        }
    ]
    resp = module_account.client.procedure(
        "com.atproto.repo.applyWrites", {"repo": module_account.did, "writes": writes, "swapCommit": stale}
    )
    expect_error(resp, 400, "InvalidSwap")
    expect_absent(module_account, rkey)
