"""The LEX-FILE cases' expected verdicts agree with atcheck's own Lexicon linter, so the library suite and
`atcheck schema lint` say the same thing about the same document."""

from __future__ import annotations

import pytest

from atcheck.libs.case import Case
from atcheck.libs.cases_lexicon import ROWS, file_cases
from atcheck.schema.lint import iter_errors

CASES = file_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.requirement}-{c.why}" for c in CASES])
def test_lint_agrees_with_the_expected_verdict(case: Case) -> None:
    errors = list(iter_errors(case.args["document"]))
    if case.expect == "accept":
        assert not errors, [e.render() for e in errors]
    else:
        assert case.requirement in {e.rule for e in errors}, [e.render() for e in errors]


def test_every_row_has_valid_and_invalid_documents() -> None:
    for row in ROWS:
        kinds = {c.expect for c in CASES if c.requirement == row}
        assert kinds == {"accept", "reject"}, row


def test_cases_are_distinct_within_a_row() -> None:
    seen = {(c.requirement, c.why) for c in CASES}
    assert len(seen) == len(CASES)
