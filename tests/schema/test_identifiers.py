"""Grammar-built identifier strategies agree with atcheck.syntax: valid ones pass, near misses fail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atcheck import syntax
from atcheck.schema import identifiers


@pytest.mark.parametrize("kind", identifiers.KINDS)
def test_valid_values_pass(kind: str) -> None:
    @settings(max_examples=100, deadline=None)
    @given(identifiers.valid(kind))
    def check(value: str) -> None:
        assert syntax.KINDS[kind](value), value

    check()


@pytest.mark.parametrize("kind", identifiers.KINDS)
def test_near_misses_fail(kind: str) -> None:
    @settings(max_examples=100, deadline=None)
    @given(identifiers.invalid(kind))
    def check(pair: tuple[str, str]) -> None:
        value, rule = pair
        assert not syntax.KINDS[kind](value), f"{value!r} should break: {rule}"

    check()


@given(st.data())
def test_cids_are_blessed_base32_sha256(data: st.DataObject) -> None:
    cid = data.draw(identifiers.cids(data.draw(st.sampled_from([0x71, 0x55]))))
    assert cid.startswith(("bafyrei", "bafkrei")) and len(cid) == 59
