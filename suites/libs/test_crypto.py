"""Signatures as each library verifies and makes them: the official signature fixtures (low-S, high-S, DER
on P-256 and K-256), the did:key vectors, seeded key pairs with valid signatures and their high-S, DER,
wrong-message and wrong-key variants, malformed did:keys, and signatures the library makes, which atcheck's
oracle verifies (low-S included)."""

from __future__ import annotations

import pytest

from atcheck.suite.libs import Library, check_cases, crypto_cases

pytestmark = pytest.mark.role("lib")
CASES = crypto_cases()


@pytest.mark.parametrize(
    "rule", [pytest.param(row, marks=pytest.mark.requirement(row), id=row) for row in CASES.rows]
)
def test_crypto_rule(lib: Library, rule: str, record_property: pytest.RecordProperty) -> None:
    """``crypto.verify``/``crypto.sign`` on every case of the row."""
    check_cases(lib, CASES.by_row[rule], rule, lambda text: record_property("atcheck_note", text))
