"""Lexicon schema documents as each library's schema loader judges them (``lexicon.valid``), against the
Lexicon spec's rules on the files themselves (LEX-FILE-01..13): valid documents must load, and a document that
breaks exactly one rule must be refused. atcheck's own linter agrees with every expected verdict
(tests/libs/test_cases_lexicon.py). One test per catalogue row."""

from __future__ import annotations

import pytest

from atcheck.suite.libs import Library, check_cases, lexicon_cases

pytestmark = pytest.mark.role("lib")
CASES = lexicon_cases()


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in CASES.rows]
)
def test_lexicon_file_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``lexicon.valid`` on every case of the row: valid documents loaded, rule-breaking ones refused."""
    check_cases(lib, CASES.by_row[rule], rule, lambda text: record_property("atcheck_note", text))
