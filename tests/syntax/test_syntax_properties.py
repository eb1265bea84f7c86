"""Property tests: values built from the grammar pass, round trips hold, small corruptions fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck import syntax

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = _LETTERS + "0123456789"

timestamps = st.integers(min_value=0, max_value=(1 << 53) - 1)
clock_ids = st.integers(min_value=0, max_value=1023)

labels = st.builds(
    lambda first, middle, last: first + middle + last if middle or last else first,
    st.sampled_from(_ALNUM),
    st.text(alphabet=_ALNUM + "-", max_size=20),
    st.sampled_from(_ALNUM),
)
tlds = st.builds(lambda a, b: a + b, st.sampled_from(_LETTERS), st.text(alphabet=_ALNUM, max_size=10))
handles = st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(labels, min_size=1, max_size=4), tlds)
nsid_names = st.builds(lambda a, b: a + b, st.sampled_from(_LETTERS), st.text(alphabet=_ALNUM, max_size=20))
nsids = st.builds(
    lambda tld, ls, name: ".".join([tld, *ls, name]),
    tlds,
    st.lists(labels, min_size=1, max_size=3),
    nsid_names,
)
rkeys = st.text(alphabet=_ALNUM + "_~.:-", min_size=1, max_size=512).filter(lambda s: s not in (".", ".."))
dids = st.builds(
    lambda method, ident: f"did:{method}:{ident}",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
    st.text(alphabet=_ALNUM + "._-", min_size=1, max_size=60),
)


@given(timestamps, clock_ids)
def test_generated_tids_are_valid_and_round_trip(ts: int, clock: int) -> None:
    tid = syntax.encode_tid(ts, clock)
    assert syntax.is_valid_tid(tid)
    assert syntax.decode_tid(tid) == (ts, clock)


@given(timestamps, clock_ids, timestamps, clock_ids)
def test_tid_string_order_is_time_order(ts1: int, c1: int, ts2: int, c2: int) -> None:
    a, b = syntax.encode_tid(ts1, c1), syntax.encode_tid(ts2, c2)
    assert (a < b) == ((ts1, c1) < (ts2, c2))


def test_tid_top_bit_and_ranges() -> None:
    assert not syntax.is_valid_tid("k" + "2" * 12)
    with pytest.raises(ValueError):
        syntax.encode_tid(1 << 53, 0)
    with pytest.raises(ValueError):
        syntax.encode_tid(0, 1024)


@given(handles)
def test_generated_handles_are_valid(handle: str) -> None:
    if len(handle) <= 253:
        assert syntax.is_valid_handle(handle)
        assert syntax.is_valid_at_identifier(handle)
    assert not syntax.is_valid_handle(handle + ".")
    assert not syntax.is_valid_handle(" " + handle)


@given(nsids)
def test_generated_nsids_are_valid(nsid: str) -> None:
    assert syntax.is_valid_nsid(nsid)
    assert not syntax.is_valid_nsid(nsid + "-")
    assert not syntax.is_valid_nsid(nsid + ".")


@given(dids, nsids, rkeys)
def test_at_uri_composed_of_valid_parts(did: str, nsid: str, rkey: str) -> None:
    assert syntax.is_valid_did(did)
    assert syntax.is_valid_record_key(rkey)
    assert syntax.is_valid_at_uri(f"at://{did}")
    assert syntax.is_valid_at_uri(f"at://{did}/{nsid}")
    assert syntax.is_valid_at_uri(f"at://{did}/{nsid}/{rkey}")
    assert not syntax.is_valid_at_uri(f"at://{did}/{nsid}/{rkey}/")
    assert not syntax.is_valid_at_uri(f"at://{did}/{nsid}/{rkey}#frag")


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)), st.integers(0, 6))
def test_python_isoformat_datetimes_are_valid(dt: datetime, precision: int) -> None:
    base = dt.isoformat(timespec="seconds")  # zero-pads the year, unlike strftime("%Y")
    frac = f".{dt.microsecond:06d}"[: precision + 1] if precision else ""
    assert syntax.is_valid_datetime(f"{base}{frac}Z")
    assert syntax.is_valid_datetime(f"{base}{frac}+00:00")
    assert not syntax.is_valid_datetime(f"{base}{frac}")
    assert not syntax.is_valid_datetime(f"{base}{frac}z")
    assert not syntax.is_valid_datetime(f"{base}{frac}-00:00")


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
def test_offsets_normalise(dt: datetime, offset: int) -> None:
    sign = "+" if offset >= 0 else "-"
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    if text.endswith("-00:00"):
        assert not syntax.is_valid_datetime(text)
    else:
        assert syntax.is_valid_datetime(text)
        parsed = datetime.fromisoformat(text)
        want = dt.replace(microsecond=0) - timedelta(minutes=offset)
        assert parsed.astimezone(UTC).replace(tzinfo=None) == want


def test_datetime_semantic_rejections_name_the_problem() -> None:
    with pytest.raises(syntax.SyntaxViolation, match="does not exist"):
        syntax.check_datetime("2023-02-29T00:00:00Z")
    assert syntax.is_valid_datetime("2024-02-29T00:00:00Z")
    assert syntax.is_valid_datetime("0000-02-29T00:00:00Z")  # year 0 is a leap year (proleptic Gregorian)
    with pytest.raises(syntax.SyntaxViolation, match="before year 0000"):
        syntax.check_datetime("0000-01-01T00:59:59+01:00")
    assert syntax.is_valid_datetime("0000-01-01T01:00:00+01:00")


def test_language_duplicate_rules() -> None:
    """Repeated variants or singletons make a tag well-formed but not valid (RFC 5646 §2.2.9): the format
    check accepts it (calibration found atcheck refusing it, stricter than the lexicon spec), the validity
    check refuses it."""
    for tag in ("sl-rozaj-biske-ROZAJ", "en-a-bbb-A-ccc", "de-DE-1901-1901", "en-u-co-phonebk-U-ca-buddhist"):
        assert syntax.is_valid_language(tag)
    with pytest.raises(syntax.SyntaxViolation, match="variant"):
        syntax.check_language_validity("sl-rozaj-biske-ROZAJ")
    with pytest.raises(syntax.SyntaxViolation, match="singleton"):
        syntax.check_language_validity("en-a-bbb-A-ccc")
    # the same letters in a private-use part are not extension singletons
    syntax.check_language_validity("en-a-bbb-x-a-b")


def test_language_rfc5646_edges() -> None:
    """Calibration's BCP 47 edge cases: extlang, private use, grandfathered (any case), and malformed tags."""
    for tag in (
        "zh-yue",
        "zh-cmn-Hans-CN",
        "x-whatever",
        "X-Whatever",
        "I-KLINGON",
        "en-GB-oed",
        "en-us",
        "en-a-bbb-x-a-ccc",
        "de-CH-1901",
        "sgn-BE-FR",
    ):
        assert syntax.is_valid_language(tag), tag
    for tag in (
        "de-419-DE",
        "en--US",
        "en-x",
        "en-a",
        "en-Latn-Cyrl",
        "zh-abc-def-ghi-jkl",
        "en-x-abcdefghi",
        "x",
        "en-\u00e9",
        "en_US",
    ):
        assert not syntax.is_valid_language(tag), tag


def test_kinds_and_checks_agree_on_names() -> None:
    assert set(syntax.KINDS) == set(syntax.CHECKS)
    for name, is_valid in syntax.KINDS.items():
        assert is_valid.__name__ == "is_valid_" + name.replace("-", "_")
