"""Lexicon property suite: records generated from the Lexicons, valid and with one rule broken, per target.

A PDS that validates (``validate: true``) must accept every valid record, store it unchanged under the CID of
its DRISL-CBOR encoding, and refuse every record that breaks exactly one Lexicon constraint, writing nothing.
Failing examples are shrunk, and the report carries the example and a ``@reproduce_failure`` seed.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.suite import (
    SUITE_SETTINGS,
    Account,
    ConformanceFailure,
    delete_record,
    expect_equal,
    expect_error,
    expect_ok,
    read_record,
)
from atcheck.suite.lexicon import (
    RECORD_TYPES,
    create_validated,
    documented,
    invalid_records,
    known_refusals,
    refusal_expected,
    repo_state,
    valid_records,
)
from atcheck.suite.oracle import cid_for_record


@pytest.mark.requirement("LEX-VAL-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
@pytest.mark.parametrize("nsid", RECORD_TYPES)
@SUITE_SETTINGS
@given(data=st.data())
def test_generated_valid_record_round_trips(module_account: Account, nsid: str, data: st.DataObject) -> None:
    """A valid record is accepted, stored unchanged, and addressed by the CID of its DRISL-CBOR encoding.

    Whether the response reports ``validationStatus`` is the validation-mode tests' business (suites/repo):
    here it would be a second verdict in one test.
    """
    record = data.draw(valid_records(nsid), label="record")
    resp = create_validated(module_account, nsid, record)
    try:
        got = expect_ok(resp)
    except ConformanceFailure as failure:
        known = known_refusals(resp, record)
        raise ConformanceFailure(failure.expected + documented(known, resp), failure.got, resp) from None
    want_cid = cid_for_record(record)
    expect_equal(got.get("cid"), want_cid, "createRecord's cid (DAG-CBOR CID of the record)", resp)
    rkey = str(got.get("uri", "")).rsplit("/", 1)[-1]
    read = read_record(module_account, rkey, collection=nsid)
    stored = expect_ok(read)
    expect_equal(stored.get("value"), record, "the stored record, unchanged", read)
    expect_equal(stored.get("cid"), want_cid, "getRecord's cid", read)
    delete_record(module_account, rkey, collection=nsid)


@pytest.mark.requirement("LEX-VAL-01", "LEX-VAL-17")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate", "sync.latest-commit")
@pytest.mark.parametrize("nsid", RECORD_TYPES)
@SUITE_SETTINGS
@given(data=st.data())
def test_generated_invalid_record_is_refused_and_nothing_written(
    module_account: Account, nsid: str, data: st.DataObject
) -> None:
    """A record breaking one Lexicon constraint is refused with a 400, and the repo does not change."""
    record, mutation = data.draw(invalid_records(nsid), label="record")
    before = repo_state(module_account, nsid)
    resp = create_validated(module_account, nsid, record)
    try:
        expect_error(resp, 400)
    except ConformanceFailure as failure:
        raise ConformanceFailure(refusal_expected(mutation, resp), failure.got, resp) from None
    after = repo_state(module_account, nsid)
    expect_equal(after, before, "(rev, record count) unchanged after a refused write", resp)
