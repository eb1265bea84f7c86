"""Merkle search trees as each library builds them: the root CID of a set of entries (sent shuffled), from
the official example keys, trees shaped to need trimming, empty nodes and prefix compression, leaf CIDs of
other codecs, and random trees; keys that are not repo paths must be refused. Judged by atcheck's oracle."""

from __future__ import annotations

import pytest

from atcheck.suite.libs import Library, check_cases, mst_cases

pytestmark = pytest.mark.role("lib")
CASES = mst_cases()


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in CASES.rows]
)
def test_mst_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``mst.root`` on every case of the row."""
    check_cases(lib, CASES.by_row[rule], rule, lambda text: record_property("atcheck_note", text))
