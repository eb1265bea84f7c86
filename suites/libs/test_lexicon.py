"""Lexicon schemas in each library: its schema loader on Lexicon documents (``lexicon.valid``, the rules on
the files themselves, LEX-FILE-01..13), and its validator on data against a schema (``lexicon.validate``,
the LEX-VAL rows that apply to libraries). Valid documents and data must be accepted; a case that breaks
exactly one rule must be refused. atcheck's own linter and validator agree with every expected verdict
(tests/libs/test_cases_lexicon.py). One test per catalogue row."""

from __future__ import annotations

import pytest

from atcheck.suite.libs import Library, check_cases, lexicon_cases, lexicon_data_cases

pytestmark = pytest.mark.role("lib")
FILES = lexicon_cases()
DATA = lexicon_data_cases()


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in FILES.rows]
)
def test_lexicon_file_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``lexicon.valid`` on every case of the row: valid documents loaded, rule-breaking ones refused."""
    check_cases(lib, FILES.by_row[rule], rule, lambda text: record_property("atcheck_note", text))


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in DATA.rows]
)
def test_lexicon_data_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``lexicon.validate`` of records against one schema: valid ones accepted, rule-breaking ones refused."""
    check_cases(lib, DATA.by_row[rule], rule, lambda text: record_property("atcheck_note", text))
