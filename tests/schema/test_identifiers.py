"""Grammar-built identifier strategies agree with atcheck.syntax: valid ones pass, near misses fail."""

from __future__ import annotations

import re

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


# RFC 3986 §3 (absolute URI, no authority form needed here) and Appendix A, written out independently of the
# generator: pct-encoded = "%" HEXDIG HEXDIG; "[" and "]" only inside an IP-literal host.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|%[0-9A-Fa-f]{{2}})"
_RFC3986_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:"  # scheme ":"
    rf"(?://(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|%[0-9A-Fa-f]{{2}})*(?:/{_PCHAR}*)*"  # "//" authority path
    rf"|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"  # path-absolute / path-rootless / path-empty
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)


def is_rfc3986_uri(value: str) -> bool:
    return _RFC3986_URI.fullmatch(value) is not None


@pytest.mark.parametrize("bad", ["a:%zz", "a:]", "a:[x]", "a:b c", "a:%4", "1a:b", "a:b#c#d"])
def test_the_rfc3986_check_catches_invalid_uris(bad: str) -> None:
    """Planted faults: strings the old generator could draw ('%' not followed by two hex digits, '[' ']')."""
    assert not is_rfc3986_uri(bad)


@pytest.mark.parametrize("good", ["a.:0", "microsoft.windows.camera:thing", "https://example.com/a?b=c#d"])
def test_the_rfc3986_check_accepts_valid_uris(good: str) -> None:
    assert is_rfc3986_uri(good)


@settings(max_examples=300, deadline=None)
@given(identifiers.uris())
def test_generated_valid_uris_are_valid_under_rfc3986(uri: str) -> None:
    """A "valid" record must hold only URIs a strict RFC 3986 parser accepts, or a strict PDS fails for us."""
    assert is_rfc3986_uri(uri), uri
