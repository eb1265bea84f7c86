"""Values kept exactly: what a PDS must not normalise; and the three Lexicon validation modes.

Spec: https://atproto.com/specs/data-model (strings, nullable fields), https://atproto.com/specs/lexicon
(datetime; Validation Options). Records are compared value for value and CID for CID with the oracle, so any
silent rewriting of a string, a dropped ``null`` or a re-serialised datetime shows up.
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    expect,
    expect_absent,
    expect_equal,
    expect_error,
    expect_ok,
    expect_stored,
    new_tid,
    note,
    put_record,
    read_record,
    write_record,
)
from atcheck.suite.oracle import cid_for_record, decode_tid, is_valid_tid

COLLECTION = "com.example.atcheck.values"
#: A Lexicon every PDS knows (app.bsky.feed.post: text and createdAt required), for "known schema" cases.
POST = "app.bsky.feed.post"
LEXICON_SCHEMA = "com.atproto.lexicon.schema"
TID_CLOCK_SLACK_S = 300


@pytest.mark.requirement("DM-TYPE-04")
@pytest.mark.needs("repo.write", "repo.read")
def test_strings_are_not_unicode_normalised(module_account: Account) -> None:
    """NFC and NFD spellings of the same text are different strings: stored as sent, under different CIDs."""
    word = "café naïve Å"
    variants = [unicodedata.normalize(form, word) for form in ("NFC", "NFD")]
    cids = []
    for text in variants:
        record = {"$type": COLLECTION, "text": text}
        rkey = write_record(module_account, record, rkey=new_tid(), collection=COLLECTION).rkey
        got = expect_ok(read_record(module_account, rkey, collection=COLLECTION))
        expect_equal(got.get("value"), record, f"the stored record ({text!a} kept as sent)")
        expect_equal(got.get("cid"), cid_for_record(record), f"the CID of {text!a}")
        cids.append(got.get("cid"))
    expect(cids[0] != cids[1], "different CIDs for the NFC and NFD spellings", cids)


@pytest.mark.requirement("DM-TYPE-06")
@pytest.mark.needs("repo.write", "repo.read")
def test_null_absent_and_empty_values_stay_distinct(module_account: Account) -> None:
    variants: dict[str, dict[str, Any]] = {
        "null": {"$type": COLLECTION, "v": None},
        "absent": {"$type": COLLECTION},
        "false": {"$type": COLLECTION, "v": False},
        "zero": {"$type": COLLECTION, "v": 0},
        "empty-list": {"$type": COLLECTION, "v": []},
        "empty-map": {"$type": COLLECTION, "v": {}},
    }
    cids: dict[str, object] = {}
    for name, record in variants.items():
        rkey = write_record(module_account, record, rkey=new_tid(), collection=COLLECTION).rkey
        got = expect_ok(read_record(module_account, rkey, collection=COLLECTION))
        expect_equal(got.get("value"), record, f"the stored record for the {name} case")
        expect_equal(got.get("cid"), cid_for_record(record), f"the CID for the {name} case")
        cids[name] = got.get("cid")
    expect(len(set(cids.values())) == len(cids), "six different CIDs for six different values", cids)


@pytest.mark.requirement("SYN-DT-04")
@pytest.mark.needs("repo.write", "repo.read")
@pytest.mark.parametrize("created_at", ["2026-01-01T00:00:50.120000Z", "2026-01-01T01:00:50+01:00"])
def test_datetimes_keep_their_spelling(module_account: Account, created_at: str) -> None:
    """A datetime in a known Lexicon comes back exactly as written (precision, zeros and offset kept)."""
    record = {"$type": POST, "text": "datetime", "createdAt": created_at}
    rkey = write_record(module_account, record, rkey=new_tid(), collection=POST).rkey
    got = expect_ok(read_record(module_account, rkey, collection=POST))
    value = got.get("value")
    expect_equal(
        value.get("createdAt") if isinstance(value, dict) else value, created_at, "createdAt as stored"
    )
    expect_equal(got.get("cid"), cid_for_record(record), "the CID of the stored post")


# -- validation modes (lexicon §Validation Options) --------------------------------------------------------

_MODES = pytest.mark.parametrize(
    ("collection", "status"),
    [(COLLECTION, "unknown"), (POST, "valid")],
    ids=["unknown-lexicon", "known-lexicon"],
)


@pytest.mark.requirement("LEX-MODE-03")
@pytest.mark.needs("repo.write")
@_MODES
def test_optimistic_validation_accepts(module_account: Account, collection: str, status: str) -> None:
    """With ``validate`` unset, a record of an unknown Lexicon is accepted ("Fail-Open"), and a record valid
    under a known one too."""
    write_record(module_account, note("optimistic", collection), rkey=new_tid(), collection=collection)


@pytest.mark.requirement("LEX-MODE-03")
@pytest.mark.needs("repo.write")
@_MODES
def test_the_response_reports_whether_validation_happened(
    module_account: Account, collection: str, status: str
) -> None:
    """ "A flag in the success response from the PDS will indicate whether Lexicon validation happened":
    ``validationStatus`` is ``unknown`` for an unknown Lexicon and ``valid`` for a record that passed one."""
    written = write_record(
        module_account, note("optimistic", collection), rkey=new_tid(), collection=collection
    )
    expect_equal(
        written.body.get("validationStatus"),
        status,
        f"validationStatus for a {collection} record",
        written.response,
    )


@pytest.mark.requirement("LEX-MODE-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
def test_required_validation_refuses_an_unknown_lexicon(module_account: Account) -> None:
    """``validate: true`` on a Lexicon the PDS does not know (and cannot resolve: com.example is offline)
    "fails": a 400, and nothing stored."""
    rkey = new_tid()
    resp = put_record(
        module_account, note("optimistic", COLLECTION), rkey=rkey, collection=COLLECTION, validate=True
    )
    expect_error(resp, 400)
    expect_absent(module_account, rkey, collection=COLLECTION)


@pytest.mark.requirement("LEX-MODE-02")
@pytest.mark.needs("repo.write", "repo.read")
def test_no_validation_stores_a_record_its_known_lexicon_refuses(module_account: Account) -> None:
    """``validate: false``: "the record is not validated against any Lexicon, even if the PDS knows the
    Lexicon locally". A post missing its required ``createdAt`` is stored as sent."""
    record = {"$type": POST, "text": "no createdAt, no validation"}
    rkey = new_tid()
    write_record(module_account, record, rkey=rkey, collection=POST, validate=False)
    expect_stored(module_account, rkey, record, collection=POST)


@pytest.mark.requirement("SYN-TID-05")
@pytest.mark.needs("repo.write")
def test_generated_record_keys_follow_the_wall_clock(module_account: Account) -> None:
    body = {"repo": module_account.did, "collection": COLLECTION, "record": {"$type": COLLECTION, "n": 1}}
    resp = module_account.client.procedure("com.atproto.repo.createRecord", body)
    rkey = str(expect_ok(resp).get("uri", "")).rsplit("/", 1)[-1]
    expect(is_valid_tid(rkey), "a generated record key that is a TID", rkey, resp)
    micros, _clock_id = decode_tid(rkey)
    drift = abs(micros / 1e6 - time.time())
    expect(drift <= TID_CLOCK_SLACK_S, f"a generated TID within {TID_CLOCK_SLACK_S} s of now", rkey, resp)


@pytest.mark.requirement("SYN-RKEY-04")
@pytest.mark.needs("repo.write", "repo.validate")
@pytest.mark.parametrize(
    ("collection", "rkey"),
    [
        pytest.param(POST, "self", id="post-self"),
        pytest.param(POST, "notatid", id="post-not-a-tid"),
        pytest.param("app.bsky.actor.profile", "notself", id="profile-not-self"),
        pytest.param(
            LEXICON_SCHEMA,
            "notansid",
            id="lexicon-schema-not-an-nsid",
            marks=pytest.mark.requirement("LEX-RES-07"),
        ),
    ],
)
def test_known_lexicons_enforce_their_record_key_type(
    module_account: Account, collection: str, rkey: str
) -> None:
    """With validate=true, a key that breaks the Lexicon's key type (tid, literal:self) is refused."""
    record: dict[str, Any] = {"$type": collection, "createdAt": "2026-01-01T00:00:00.000Z"}
    if collection == POST:
        record["text"] = "wrong key"
    if collection == LEXICON_SCHEMA:  # a valid schema record but for its key: only the key type is at fault
        record = {"$type": LEXICON_SCHEMA, "lexicon": 1, "id": "com.example.atcheck.schema", "defs": {}}
    body = {
        "repo": module_account.did,
        "collection": collection,
        "rkey": rkey,
        "record": record,
        "validate": True,
    }
    expect_error(module_account.client.procedure("com.atproto.repo.putRecord", body), 400)
