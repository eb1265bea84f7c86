"""One verdict per Lexicon validation rule: a PDS refuses a record that breaks that rule, and nothing else.

The property suite next door breaks any one constraint of any record type, so its failure says "some rule is
not enforced". Here each catalogue rule (required and nullable, integer bounds, string bytes and graphemes,
formats, array lengths, union ``$type``) gets its own test, drawing only records that break it, so the
requirement matrix shows which rules a PDS enforces. Records come from the ``app.bsky`` Lexicons every PDS
bundles; a record whose rule a reference validator is documented not to check is named in the failure.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.suite import SUITE_SETTINGS, Account, ConformanceFailure, expect_equal, expect_error
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
