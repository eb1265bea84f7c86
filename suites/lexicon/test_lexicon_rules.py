"""One verdict per Lexicon validation rule: a PDS refuses a record that breaks that rule, and nothing else.

The property suite next door breaks any one constraint of any record type, so its failure says "some rule is
not enforced". Here each catalogue rule (required and nullable, integer bounds, string bytes and graphemes,
formats, array lengths, union ``$type``) gets its own test, drawing only records that break it, so the
requirement matrix shows which rules a PDS enforces. Records come from the ``app.bsky`` Lexicons every PDS
bundles; a record whose rule a reference validator is documented not to check is named in the failure.
Rules no mutation of those records can reach (``knownValues`` is open, a ref to an object needs no
``$type`` yet is validated against its target) have hand-written records at the end.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.suite import (
    SUITE_SETTINGS,
    Account,
    ConformanceFailure,
    expect_absent,
    expect_equal,
    expect_error,
    expect_stored,
    new_tid,
    put_record,
    write_record,
)
from atcheck.suite.lexicon import (
    RULES,
    create_validated,
    records_breaking,
    refusal_expected,
    repo_state,
)

#: One case per rule of :data:`RULES`, its ID written out so `atcheck requirements` finds it in the source.
RULE_CASES = [
    pytest.param("LEX-VAL-02", id="LEX-VAL-02", marks=pytest.mark.requirement("LEX-VAL-02")),
    pytest.param("LEX-VAL-03", id="LEX-VAL-03", marks=pytest.mark.requirement("LEX-VAL-03")),
    pytest.param("LEX-VAL-04", id="LEX-VAL-04", marks=pytest.mark.requirement("LEX-VAL-04")),
    pytest.param("LEX-VAL-05", id="LEX-VAL-05", marks=pytest.mark.requirement("LEX-VAL-05")),
    pytest.param("LEX-VAL-07", id="LEX-VAL-07", marks=pytest.mark.requirement("LEX-VAL-07")),
    pytest.param("LEX-VAL-09", id="LEX-VAL-09", marks=pytest.mark.requirement("LEX-VAL-09")),
    pytest.param("LEX-VAL-12", id="LEX-VAL-12", marks=pytest.mark.requirement("LEX-VAL-12")),
]
_RULES = {rule.requirement: rule for rule in RULES}
assert sorted(_RULES) == [case.values[0] for case in RULE_CASES], "RULE_CASES must list every rule once"


@pytest.mark.needs("repo.write", "repo.read", "repo.validate", "sync.latest-commit")
@pytest.mark.parametrize("rule_id", RULE_CASES)
@SUITE_SETTINGS
@given(data=st.data())
def test_a_record_breaking_one_rule_is_refused(
    module_account: Account, rule_id: str, data: st.DataObject
) -> None:
    """A record breaking this rule only is refused with a 400 (``validate: true``); nothing is written."""
    rule = _RULES[rule_id]
    nsid, record, mutation = data.draw(records_breaking(rule), label="record")
    before = repo_state(module_account, nsid)
    resp = create_validated(module_account, nsid, record)
    try:
        expect_error(resp, 400)
    except ConformanceFailure as failure:
        expected = f"{rule.summary} ({nsid}) refused: " + refusal_expected(mutation, resp)
        raise ConformanceFailure(expected, failure.got, resp) from None
    after = repo_state(module_account, nsid)
    expect_equal(after, before, "(rev, record count) unchanged after a refused write", resp)


# -- rules no mutation of the bundled records can break, checked by hand-written records --------------------

LIST = "app.bsky.graph.list"
POST = "app.bsky.feed.post"
CREATED_AT = "2026-01-01T00:00:00.000Z"
STRONG_REF = {
    "uri": "at://did:plc:atcheckatcheckatcheck00/app.bsky.feed.post/3kznmn7xqxl22",
    "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
}


@pytest.mark.requirement("LEX-VAL-06")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
def test_known_values_do_not_constrain_a_string(module_account: Account) -> None:
    """``knownValues`` lists suggestions, not a closed set: a list whose ``purpose`` (knownValues
    ``#modlist``, ``#curatelist``, ``#referencelist``) is a value of its own is valid and stored."""
    record = {
        "$type": LIST,
        "purpose": "com.example.atcheck.defs#ownPurpose",
        "name": "n",
        "createdAt": CREATED_AT,
    }
    rkey = new_tid()
    write_record(module_account, record, rkey=rkey, collection=LIST, validate=True)
    expect_stored(module_account, rkey, record, collection=LIST)


@pytest.mark.requirement("LEX-VAL-11")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
def test_a_ref_to_an_object_needs_no_type(module_account: Account) -> None:
    """``reply`` is a ref to the object ``#replyRef``, whose ``root`` and ``parent`` are refs to
    ``com.atproto.repo.strongRef``: written without any ``$type``, the post is valid and stored."""
    record = {
        "$type": POST,
        "text": "a reply",
        "reply": {"root": STRONG_REF, "parent": STRONG_REF},
        "createdAt": CREATED_AT,
    }
    rkey = new_tid()
    write_record(module_account, record, rkey=rkey, collection=POST, validate=True)
    expect_stored(module_account, rkey, record, collection=POST)


@pytest.mark.requirement("LEX-VAL-11")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
def test_a_ref_to_an_object_validates_against_its_target(module_account: Account) -> None:
    """The same post with a ``parent`` that lacks the ``cid`` its target (strongRef) requires is refused."""
    parent = {"uri": STRONG_REF["uri"]}
    record = {
        "$type": POST,
        "text": "a reply",
        "reply": {"root": STRONG_REF, "parent": parent},
        "createdAt": CREATED_AT,
    }
    rkey = new_tid()
    resp = put_record(module_account, record, rkey=rkey, collection=POST, validate=True)
    expect_error(resp, 400)
    expect_absent(module_account, rkey, collection=POST)
