"""The data model as each library encodes it: DAG-CBOR bytes, decoding (strict: every non-canonical form
refused), CIDs of bytes and of records, and the JSON form's links and bytes, judged by atcheck's oracle. One
test per catalogue row; the official data-model fixtures are among the cases."""

from __future__ import annotations

import pytest

from atcheck.suite.libs import Library, check_cases, data_cases

pytestmark = pytest.mark.role("lib")
CASES = data_cases()


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in CASES.rows]
)
def test_data_model_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``cbor.encode``/``cbor.decode``/``cid.*`` on every case of the row."""
    check_cases(lib, CASES.by_row[rule], rule, lambda text: record_property("atcheck_note", text))
