"""The LEX-FILE cases' expected verdicts agree with atcheck's own Lexicon linter, and the LEX-VAL ones
with its validator, so the library suite and `atcheck schema lint` / `validate-records` say the same thing."""

from __future__ import annotations

import pytest

from atcheck.libs.case import Case
from atcheck.libs.cases_lexicon import ROWS, file_cases, val_cases
from atcheck.schema.document import parse_document
from atcheck.schema.lint import iter_errors
from atcheck.schema.registry import SchemaRegistry
from atcheck.schema.sources import LexiconSet

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


@pytest.mark.parametrize("case", val_cases(), ids=[f"{c.requirement}-{c.why}" for c in val_cases()])
def test_validator_agrees_with_the_expected_verdict(case: Case) -> None:
    """atcheck's own Lexicon validator (the generated JSON Schemas) gives each data case's verdict."""
    docs = [parse_document(raw, "cases_lexicon") for raw in case.args["documents"]]
    lexicons = LexiconSet({doc.nsid: doc for doc in docs}, {"source": "cases_lexicon"})
    registry = SchemaRegistry.from_lexicons(lexicons)
    errors = registry.record_errors(case.args["value"])
    assert (not errors) == (case.expect == "accept"), errors
