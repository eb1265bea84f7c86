"""Identifier syntax (handle, DID, NSID, TID, record key, AT-URI, datetime, language, CID, at-identifier, URI)
as each library's validators judge it, against atcheck's oracle: every official vector, the boundaries each
rule states, and generated values with their one-edit near-misses. One test per catalogue row."""

from __future__ import annotations

import pytest

from atcheck.suite.libs import Library, check_cases, syntax_cases

pytestmark = pytest.mark.role("lib")
CASES = syntax_cases()


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in CASES.rows]
)
def test_syntax_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``syntax.valid`` on every case of the row: valid values accepted, invalid ones rejected."""
    check_cases(lib, CASES.by_row[rule], rule, lambda text: record_property("atcheck_note", text))
