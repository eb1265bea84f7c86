"""Hypothesis strategies for every atproto identifier and string format, built from the grammars.

``valid(kind)`` draws values that the spec's grammar accepts, spread over the whole grammar (case, lengths up
to the limits, every allowed character class) rather than a fixed list. ``invalid(kind)`` draws
``(value, rule)`` pairs where the value sits just past one rule (one character too many, a forbidden character
at an allowed place, a month that does not exist...), and ``rule`` names the rule it breaks, for messages.

Kinds use the Lexicon format names: did, handle, nsid, tid, record-key, at-uri, at-identifier, datetime,
language, cid, uri.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime

from hypothesis import strategies as st

from atcheck import syntax

LOWER = "abcdefghijklmnopqrstuvwxyz"
LETTERS = LOWER + LOWER.upper()
DIGITS = "0123456789"
ALNUM = LETTERS + DIGITS
KINDS = (
    "did",
    "handle",
    "nsid",
    "tid",
    "record-key",
    "at-uri",
    "at-identifier",
    "datetime",
    "language",
    "cid",
    "uri",
)


def _label(alphabet: str = ALNUM, max_size: int = 63) -> st.SearchStrategy[str]:
    """A DNS label: alphanumeric ends, hyphens allowed inside, 1..max_size chars."""
    inner = st.text(alphabet=alphabet + "-", max_size=max_size - 2)
    return st.one_of(
        st.sampled_from(alphabet),
        st.builds(lambda a, m, b: a + m + b, st.sampled_from(alphabet), inner, st.sampled_from(alphabet)),
    )


def _tld() -> st.SearchStrategy[str]:
    return st.builds(lambda a, rest: a + rest, st.sampled_from(LETTERS), st.text(alphabet=ALNUM, max_size=12))


def handles() -> st.SearchStrategy[str]:
    return st.builds(
        lambda ls, tld: ".".join([*ls, tld]), st.lists(_label(), min_size=1, max_size=4), _tld()
    ).filter(lambda h: len(h) <= 253)


def nsids() -> st.SearchStrategy[str]:
    name = st.builds(lambda a, b: a + b, st.sampled_from(LETTERS), st.text(alphabet=ALNUM, max_size=30))
    lower_label = _label(LOWER + DIGITS, max_size=20)
    lower_tld = st.builds(
        lambda a, b: a + b, st.sampled_from(LOWER), st.text(alphabet=LOWER + DIGITS, max_size=8)
    )
    return st.builds(
        lambda tld, ls, n: ".".join([tld, *ls, n]),
        lower_tld,
        st.lists(lower_label, min_size=1, max_size=3),
        name,
    ).filter(lambda s: len(s) <= 317)


def dids() -> st.SearchStrategy[str]:
    pct = st.builds(
        lambda a, b: "%" + a + b,
        st.sampled_from("0123456789ABCDEFabcdef"),
        st.sampled_from("0123456789ABCDEF"),
    )
    chunk = st.one_of(st.text(alphabet=ALNUM + "._:-", min_size=1, max_size=20), pct)
    ident = st.builds(
        lambda parts, end: "".join(parts) + end, st.lists(chunk, max_size=4), st.sampled_from(ALNUM + "._-")
    )
    plc = st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=24, max_size=24).map(
        lambda s: "did:plc:" + s
    )
    web = handles().map(lambda h: "did:web:" + h.lower())
    generic = st.builds(lambda m, i: f"did:{m}:{i}", st.text(alphabet=LOWER, min_size=1, max_size=10), ident)
    return st.one_of(plc, web, generic)


def tids() -> st.SearchStrategy[str]:
    return st.builds(
        syntax.encode_tid,
        st.integers(min_value=0, max_value=(1 << 53) - 1),
        st.integers(min_value=0, max_value=1023),
    )


def record_keys() -> st.SearchStrategy[str]:
    return st.one_of(tids(), st.text(alphabet=ALNUM + "._:~-", min_size=1, max_size=512)).filter(
        lambda s: s not in (".", "..")
    )


def at_identifiers() -> st.SearchStrategy[str]:
    return st.one_of(dids(), handles())


def at_uris() -> st.SearchStrategy[str]:
    return st.builds(
        lambda auth, coll, rkey: (
            "at://" + auth + (f"/{coll}" if coll else "") + (f"/{rkey}" if coll and rkey else "")
        ),
        at_identifiers(),
        st.none() | nsids(),
        st.none() | record_keys().filter(lambda r: len(r) < 100),
    )


def datetimes() -> st.SearchStrategy[str]:
    frac = st.none() | st.text(alphabet=DIGITS, min_size=1, max_size=9)
    tz = st.one_of(
        st.just("Z"),
        st.builds(
            lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
            st.sampled_from("+-"),
            st.integers(0, 23),
            st.integers(0, 59),
        ).filter(lambda t: t != "-00:00"),
    )
    moment = st.datetimes(min_value=datetime(1, 1, 2))
    return st.builds(
        lambda d, f, z: d.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + (f".{f}" if f else "") + z,
        moment,
        frac,
        tz,
    ).filter(syntax.is_valid_datetime)


def languages() -> st.SearchStrategy[str]:
    primary = st.text(alphabet=LOWER, min_size=2, max_size=3)
    script = st.none() | st.builds(
        lambda a, b: a + b, st.sampled_from(LOWER.upper()), st.text(alphabet=LOWER, min_size=3, max_size=3)
    )
    region = (
        st.none()
        | st.text(alphabet=LOWER.upper(), min_size=2, max_size=2)
        | st.text(alphabet=DIGITS, min_size=3, max_size=3)
    )
    return st.builds(lambda p, s, r: "-".join(x for x in (p, s, r) if x), primary, script, region)


def cids(codec: int = 0x71) -> st.SearchStrategy[str]:
    """Blessed CIDv1 strings (sha-256, base32): ``0x71`` DRISL/dag-cbor data, ``0x55`` raw blob bytes."""

    def make(data: bytes) -> str:
        raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
        return "b" + base64.b32encode(raw).decode().lower().rstrip("=")

    return st.binary(max_size=32).map(make)


#: RFC 3986 pchar without percent-encoding: unreserved, sub-delims, ":" and "@".
_PCHAR = ALNUM + "-._~" + "!$&'()*+,;=" + ":@"


def _pct_encoded() -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, b: f"%{a}{b}",
        st.sampled_from("0123456789ABCDEFabcdef"),
        st.sampled_from("0123456789ABCDEF"),
    )


def _uri_part(extra: str = "") -> st.SearchStrategy[str]:
    """Text of pchars (and ``extra``), with ``%`` only as a percent-encoded octet, as RFC 3986 requires."""
    return st.lists(st.one_of(st.sampled_from(_PCHAR + extra), _pct_encoded()), max_size=20).map("".join)


def uris() -> st.SearchStrategy[str]:
    """Absolute URIs valid under RFC 3986: ``scheme ":" path-rootless [ "?" query ] [ "#" fragment ]``.

    Every ``%`` starts a percent-encoded octet, and ``[`` ``]`` (legal only in an IP-literal host) never
    appear, so a strict RFC 3986 parser accepts every value drawn.
    """
    scheme = st.builds(
        lambda a, b: a + b, st.sampled_from(LOWER), st.text(alphabet=LOWER + DIGITS + "+.-", max_size=8)
    )
    first = st.one_of(st.sampled_from(_PCHAR), _pct_encoded())
    rest = st.builds(
        lambda f, path, query, fragment: f + path + query + fragment,
        first,
        _uri_part("/"),
        st.one_of(st.just(""), _uri_part("/?").map(lambda q: "?" + q)),
        st.one_of(st.just(""), _uri_part("/?").map(lambda q: "#" + q)),
    )
    special = st.sampled_from(
        ["https://example.com/a?b=c#d", "at://did:plc:abc/app.bsky.feed.post/3k", "dns:example.com"]
    )
    return st.one_of(special, st.builds(lambda s, r: f"{s}:{r}", scheme, rest)).filter(syntax.is_valid_uri)


_VALID: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "did": dids,
    "handle": handles,
    "nsid": nsids,
    "tid": tids,
    "record-key": record_keys,
    "at-uri": at_uris,
    "at-identifier": at_identifiers,
    "datetime": datetimes,
    "language": languages,
    "cid": cids,
    "uri": uris,
}


def valid(kind: str) -> st.SearchStrategy[str]:
    """Values of ``kind`` (a Lexicon format name) that the grammar accepts."""
    return _VALID[kind]()


# -- invalid values, each just past one rule ----------------------------------------------------------


def _invalid_did() -> st.SearchStrategy[tuple[str, str]]:
    good = dids()
    return st.one_of(
        good.map(lambda d: (d.replace("did:", "DID:", 1), "the 'did:' prefix is lowercase")),
        good.map(lambda d: (d + ":", "a DID may not end in ':'")),
        good.map(lambda d: (d + "%", "a DID may not end in '%'")),
        st.builds(
            lambda d, c: (d + c + "x", f"{c!r} is not allowed in a DID"), good, st.sampled_from("#?/ @")
        ),
        st.builds(
            lambda m, i: (f"did:{m.upper()}:{i}", "the method is lowercase letters"),
            st.text(LOWER, min_size=1, max_size=5),
            st.text(ALNUM, min_size=1, max_size=10),
        ),
        st.just(("did:plc:" + "a" * 2041, "a DID is at most 2048 characters")),
    )


def _invalid_handle() -> st.SearchStrategy[tuple[str, str]]:
    good = handles()
    return st.one_of(
        good.map(lambda h: (h + ".0", "the TLD may not start with a digit")),
        good.map(lambda h: (h + ".", "no trailing dot")),
        good.map(lambda h: ("-" + h, "a label may not start with a hyphen")),
        good.map(lambda h: ("a" * 64 + "." + h, "a label is at most 63 characters")),
        st.text(LETTERS, min_size=1, max_size=20).map(lambda s: (s, "a handle has at least two labels")),
        st.builds(lambda h, c: (c + h, f"{c!r} is not allowed in a handle"), good, st.sampled_from("_@:/ é")),
        st.just((".".join(["a" * 63] * 4) + ".ab", "a handle is at most 253 characters")),
    )


def _invalid_nsid() -> st.SearchStrategy[tuple[str, str]]:
    good = nsids()
    return st.one_of(
        good.map(lambda n: (n + "-x", "the name segment has no hyphen")),
        good.map(lambda n: (n.rsplit(".", 1)[0] + ".9x", "the name segment starts with a letter")),
        good.map(lambda n: ("9" + n, "the first segment starts with a letter")),
        st.builds(
            lambda a, b: (f"{a}.{b}", "an NSID has at least three segments"),
            st.text(LOWER, min_size=1, max_size=5),
            st.text(LOWER, min_size=1, max_size=5),
        ),
        good.map(lambda n: (n + "." * 1, "no trailing dot")),
        st.just(
            (
                "com." + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".e" + "f" * 60,
                "an NSID is at most 317 characters",
            )
        ),
    )


def _invalid_tid() -> st.SearchStrategy[tuple[str, str]]:
    good = tids()
    return st.one_of(
        good.map(lambda t: (t[:-1], "a TID is exactly 13 characters")),
        good.map(lambda t: (t + "2", "a TID is exactly 13 characters")),
        st.builds(
            lambda t, c: (c + t[1:], "the first character keeps the top bit zero"),
            good,
            st.sampled_from("klmnopqrstuvwxyz"),
        ),
        st.builds(
            lambda t, c: (t[:5] + c + t[6:], f"{c!r} is not base32-sortable"),
            good,
            st.sampled_from("0189ABZ-"),
        ),
    )


def _invalid_rkey() -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(
        st.sampled_from(
            [(".", "'.' is reserved"), ("..", "'..' is reserved"), ("", "a record key is not empty")]
        ),
        st.just(("a" * 513, "a record key is at most 512 characters")),
        st.builds(
            lambda k, c: (k + c, f"{c!r} is not allowed in a record key"),
            record_keys().filter(lambda r: len(r) < 500),
            st.sampled_from("/#?@ %"),
        ),
    )


def _invalid_at_uri() -> st.SearchStrategy[tuple[str, str]]:
    good = at_uris()
    return st.one_of(
        good.map(lambda u: (u.replace("at://", "AT://", 1), "the scheme is 'at://'")),
        good.map(lambda u: (u + "#frag", "no fragment in the Lexicon at-uri form")),
        good.map(lambda u: (u + "?q=1", "no query in the Lexicon at-uri form")),
        st.builds(
            lambda a, n: (f"at://{a}/{n}/k/extra", "at most collection and record key"),
            at_identifiers(),
            nsids(),
        ),
        st.builds(lambda a: (f"at://{a}/not-an-nsid", "the collection is an NSID"), at_identifiers()),
    )


def _invalid_datetime() -> st.SearchStrategy[tuple[str, str]]:
    """Datetimes the published spec makes invalid without a "should": syntax rules, each also a vector.

    Semantic near-misses (month 13, February 29 in a non-leap year, second 60) are left out: the lexicon page
    says only that implementations "should" validate the semantics of a datetime, so a server that accepts
    them must not fail a MUST-level refusal test.
    """
    good = datetimes()
    return st.one_of(
        good.map(lambda d: (d.replace("T", "t", 1), "the date/time separator is an uppercase 'T'")),
        good.map(lambda d: (d.replace("T", " ", 1), "the date/time separator is 'T'")),
        good.filter(lambda d: d.endswith("Z")).map(lambda d: (d[:-1], "a timezone is required")),
        good.filter(lambda d: d.endswith("Z")).map(lambda d: (d[:-1] + "-00:00", "'-00:00' is not allowed")),
    )


def _invalid_language() -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(
        st.text(LOWER, min_size=1, max_size=1).map(lambda s: (s, "the primary subtag is 2-3 letters")),
        languages().map(lambda lang: (lang + " x", "no spaces")),
        languages().map(lambda lang: ("1" + lang, "the primary subtag is letters")),
        languages().map(lambda lang: (lang + "-", "no trailing hyphen")),
    )


def _invalid_cid() -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(
        cids().map(lambda c: (c[:7], "a CID string is at least 8 characters")),
        cids().map(lambda c: ("Qm" + c[2:48], "CIDv0 is not accepted")),
        cids().map(lambda c: (c[:10] + "/" + c[11:], "'/' is not a multibase character")),
    )


def _invalid_uri() -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(
        uris().map(lambda u: (u.split(":", 1)[1].replace(":", "/"), "a URI needs a scheme")),
        uris().map(lambda u: (u + " x", "a URI has no spaces")),
        st.just(("https://example.com/" + "a" * 8192, "a URI is at most 8 KiB")),
    )


def _invalid_at_identifier() -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(
        _invalid_did().filter(lambda p: p[0].startswith("did:")),
        _invalid_handle().filter(lambda p: not p[0].startswith("did:")),
    )


_INVALID: dict[str, Callable[[], st.SearchStrategy[tuple[str, str]]]] = {
    "did": _invalid_did,
    "handle": _invalid_handle,
    "nsid": _invalid_nsid,
    "tid": _invalid_tid,
    "record-key": _invalid_rkey,
    "at-uri": _invalid_at_uri,
    "at-identifier": _invalid_at_identifier,
    "datetime": _invalid_datetime,
    "language": _invalid_language,
    "cid": _invalid_cid,
    "uri": _invalid_uri,
}


def invalid(kind: str) -> st.SearchStrategy[tuple[str, str]]:
    """``(value, rule broken)`` pairs for ``kind``, each value just past one grammar rule."""
    return _INVALID[kind]()
