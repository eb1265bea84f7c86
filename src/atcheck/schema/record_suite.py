"""Property suite: Lexicon-generated records against a live PDS (createRecord with ``validate: true``).

A suite module under ``suites/`` imports the ``test_*`` functions below; the atcheck pytest plugin then runs
them once per target, with the suites' shared fixtures (``module_account``) and Hypothesis profile.

- A generated **valid** record (:func:`atcheck.schema.generate.from_lexicon`) is accepted by createRecord,
  the returned CID is the one atcheck's oracle computes (DRISL-CBOR, CIDv1 dag-cbor sha-256), and getRecord
  returns the record unchanged under that CID. ``validationStatus``, when present, is ``valid``.
- A generated **invalid** record (:func:`invalid_from_lexicon`, exactly one constraint broken) is refused with
  a 400 and an error name, and nothing is written: the repo's rev (getLatestCommit) and the collection's
  record count (listRecords) are unchanged. When a reference validator is known not to check that constraint
  (:mod:`atcheck.schema.disagreements`), the failure message says so and quotes the deciding spec sentence.

Records holding blobs are left out: a blob must be uploaded before a record can refer to it, which is the blob
suite's business, not the Lexicon's. Hypothesis prints the shrunk failing record; with ``CI`` or
``ATCHECK_DERANDOMIZE`` set the examples are derandomized, so a rerun sends the same records.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from atcheck.accounts import Account
from atcheck.checks import ConformanceFailure, expect_equal, expect_error, expect_ok
from atcheck.oracle.cid import cid_for_record
from atcheck.schema.disagreements import classify
from atcheck.schema.generate import Mutation, from_lexicon, invalid_from_lexicon
from atcheck.schema.sources import LexiconSet, default_lexicons

RECORD_TYPES = (
    "app.bsky.feed.post",
    "app.bsky.feed.like",
    "app.bsky.feed.repost",
    "app.bsky.graph.follow",
    "app.bsky.graph.block",
    "app.bsky.actor.profile",
)


def _profile() -> settings:
    try:
        return settings.get_profile("atcheck-suites")
    except InvalidArgument:  # imported outside suites/: same shape as the suites' profile
        return settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )


SUITE = _profile()


@cache
def _lexicons() -> LexiconSet:
    return default_lexicons()


def _has_blob(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("$type") == "blob" or any(_has_blob(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_blob(v) for v in value)
    return False


def _rkey(nsid: str) -> str | None:
    """An rkey the Lexicon's key type allows (None: let the server pick a TID)."""
    key = _lexicons().get(nsid).defs["main"].get("key", "tid")
    if isinstance(key, str) and key.startswith("literal:"):
        return key[len("literal:") :]
    if key in ("any", "nsid"):
        return f"com.example.atcheck{secrets.token_hex(4)}" if key == "nsid" else f"k{secrets.token_hex(6)}"
    return None


def _state(account: Account, nsid: str) -> tuple[Any, int]:
    """(repo rev, number of records in the collection): what a refused write must leave untouched."""
    latest = expect_ok(account.client.query("com.atproto.sync.getLatestCommit", {"did": account.did}))
    listed = expect_ok(
        account.client.query(
            "com.atproto.repo.listRecords", {"repo": account.did, "collection": nsid, "limit": 100}
        )
    )
    return latest.get("rev"), len(listed.get("records", []))


def _create(account: Account, nsid: str, record: dict[str, Any]) -> Any:
    body: dict[str, Any] = {"repo": account.did, "collection": nsid, "record": record, "validate": True}
    rkey = _rkey(nsid)
    if rkey is not None:
        body["rkey"] = rkey
    return account.client.procedure("com.atproto.repo.createRecord", body)


@pytest.mark.requirement("LEX-VAL-01", "LEX-MODE-01", "DM-CBOR-05")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
@pytest.mark.parametrize("nsid", RECORD_TYPES)
@SUITE
@given(data=st.data())
def test_generated_valid_record_round_trips(module_account: Account, nsid: str, data: st.DataObject) -> None:
    """A valid record is accepted, stored unchanged, and addressed by the CID of its DRISL-CBOR encoding."""
    record = data.draw(from_lexicon(nsid, _lexicons()).filter(lambda r: not _has_blob(r)), label="record")
    resp = _create(module_account, nsid, record)
    got = expect_ok(resp)
    want_cid = cid_for_record(record)
    expect_equal(got.get("cid"), want_cid, "createRecord's cid (DAG-CBOR CID of the record)", resp)
    if "validationStatus" in got:
        expect_equal(got["validationStatus"], "valid", "validationStatus with validate=true", resp)
    uri = str(got.get("uri", ""))
    rkey = uri.rsplit("/", 1)[-1]
    read = module_account.client.query(
        "com.atproto.repo.getRecord", {"repo": module_account.did, "collection": nsid, "rkey": rkey}
    )
    stored = expect_ok(read)
    expect_equal(stored.get("value"), record, "the stored record, unchanged", read)
    expect_equal(stored.get("cid"), want_cid, "getRecord's cid", read)
    module_account.client.procedure(
        "com.atproto.repo.deleteRecord", {"repo": module_account.did, "collection": nsid, "rkey": rkey}
    )


@pytest.mark.requirement("LEX-VAL-01", "LEX-VAL-17", "LEX-MODE-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate", "sync.latest-commit")
@pytest.mark.parametrize("nsid", RECORD_TYPES)
@SUITE
@given(data=st.data())
def test_generated_invalid_record_is_refused_and_nothing_written(
    module_account: Account, nsid: str, data: st.DataObject
) -> None:
    """A record breaking one Lexicon constraint is refused with a 400, and the repo does not change."""
    record, mutation = data.draw(
        invalid_from_lexicon(nsid, _lexicons()).filter(lambda pair: not _has_blob(pair[0])), label="record"
    )
    before = _state(module_account, nsid)
    resp = _create(module_account, nsid, record)
    try:
        expect_error(resp, 400)
    except ConformanceFailure as failure:
        raise ConformanceFailure(_refusal_expected(mutation), failure.got, resp) from None
    after = _state(module_account, nsid)
    expect_equal(after, before, "(rev, record count) unchanged after a refused write", resp)


def _refusal_expected(mutation: Mutation) -> str:
    """What a refusal should be, naming any documented leniency of a reference validator for this case.

    The PDSes under test validate with these libraries (@atproto/pds with @atproto/lexicon, arroba with
    lexrpc), so a baseline can tell a known leniency from a new failure by the validator named here.
    """
    notes = [
        f" (known of {validator}: {known.summary}; decided by {known.decided_by})"
        for validator in ("@atproto/lexicon", "lexrpc")
        if (known := classify(validator, mutation, None, {})) is not None
    ]
    return f"a 400 refusing a record that breaks {mutation}{''.join(notes)}"
