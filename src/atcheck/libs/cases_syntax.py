"""Syntax cases: every line of the official syntax vectors, plus atcheck's own, for every identifier kind.

Three sources, each case naming the catalogue row it checks:

- **Vectors** (``syntax/*.txt`` of the interop tests, read in place): each line is a case for its kind's
  main row (``handle`` -> SYN-HDL-01); ``datetime_parse_invalid.txt`` (well-formed but impossible dates)
  checks SYN-DT-03.
- **Rules**: one or more hand-made values per row, on and just over each boundary the row states (2048 and
  2049 characters of DID, a TLD that starts with a digit, ``.`` and ``..`` as record keys...).
- **Generated**: values built from each grammar with a seeded :class:`random.Random` (so every run asks the
  same), and near-misses made from them by one small edit (a character inserted, dropped, or its case
  flipped). A generated case's verdict is the oracle's (:mod:`atcheck.syntax`), which follows the spec and
  passes every official vector.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

from atcheck.libs.case import Case
from atcheck.syntax import KINDS, VECTOR_LINES_OVERRULED, encode_tid

SEED = 20260603
#: The kind's main catalogue row: where a vector line or a generated value of that kind is counted.
MAIN_ROW = {
    "handle": "SYN-HDL-01",
    "did": "SYN-DID-01",
    "nsid": "SYN-NSID-01",
    "tid": "SYN-TID-01",
    "record-key": "SYN-RKEY-01",
    "at-uri": "SYN-URI-01",
    "datetime": "SYN-DT-01",
    "language": "SYN-LANG-01",
    "cid": "SYN-CID-01",
    "at-identifier": "SYN-ATID-01",
    "uri": "SYN-GURI-01",
}
_STEMS = {
    "atidentifier": "at-identifier",
    "aturi": "at-uri",
    "cid": "cid",
    "datetime": "datetime",
    "did": "did",
    "handle": "handle",
    "language": "language",
    "nsid": "nsid",
    "recordkey": "record-key",
    "tid": "tid",
    "uri": "uri",
}
#: ``*_parse_invalid`` files asked of a library's syntax check: impossible datetimes must fail (SYN-DT-03).
#: Repeated language subtags are well-formed BCP-47, which is all a syntax check judges; that clients ignore
#: such tags (SYN-LANG-02) is not something a validator's answer shows, so those lines are not asked.
_PARSE_ROWS = {"datetime": "SYN-DT-03"}
CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"


def _case(kind: str, value: str, valid: bool, row: str, source: str, why: str = "") -> Case:
    return Case(
        op="syntax.valid",
        args={"kind": kind, "value": value},
        expect="accept" if valid else "reject",
        requirement=row,
        source=source,
        why=why,
    )


def vector_cases(vectors: Path) -> list[Case]:
    """Every line of ``vectors/syntax/*.txt`` (blank lines and ``#`` comments skipped; whitespace kept)."""
    cases: list[Case] = []
    for path in sorted((vectors / "syntax").glob("*.txt")):
        stem, _, verdict = path.stem.partition("_")
        kind = _STEMS.get(stem)
        if kind is None:
            continue
        if verdict == "parse_invalid" and kind not in _PARSE_ROWS:
            continue  # well-formed, so a syntax check is right to accept it (see _PARSE_ROWS)
        row = _PARSE_ROWS[kind] if verdict == "parse_invalid" else MAIN_ROW[kind]
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            if (kind, line) in VECTOR_LINES_OVERRULED:
                continue  # the spec overrules this line: nobody is judged on it (atcheck.syntax)
            source = f"vector syntax/{path.name}:{number}"
            cases.append(_case(kind, line, verdict == "syntax_valid", row, source))
    return cases


# -- the rules, on and over each boundary ------------------------------------------------------------------

_RULES: list[tuple[str, str, str, bool, str]] = [
    # (row, kind, value, valid, why)
    ("SYN-DID-02", "did", "did:web:" + "a" * 2040, True, "2048 characters"),
    ("SYN-DID-02", "did", "did:web:" + "a" * 2041, False, "2049 characters"),
    ("SYN-DID-03", "did", "did:web:example.com?x=1", False, "query part"),
    ("SYN-DID-03", "did", "did:web:example.com#frag", False, "fragment part"),
    ("SYN-DID-03", "did", "did:web:example.com/path", False, "path part"),
    ("SYN-DID-04", "did", "DID:plc:asdfghjklzxcvbnmqwertyui", False, "uppercase scheme"),
    ("SYN-DID-04", "did", "did:PLC:asdfghjklzxcvbnmqwertyui", False, "uppercase method"),
    (
        "SYN-DID-04",
        "did",
        "did:plc:ASDFGHJKLZXCVBNMQWERTYUI",
        True,
        "identifier case is the method's business",
    ),
    ("SYN-DID-05", "did", "did:example:123456789abcdefghi", True, "an unsupported method is still a DID"),
    (
        "SYN-DID-05",
        "did",
        "did:onion:2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid",
        True,
        "any method",
    ),
    ("SYN-DID-01", "did", "did:plc:", False, "empty identifier"),
    ("SYN-DID-01", "did", "did:web:example.com:", False, "ends in ':'"),
    ("SYN-DID-01", "did", "did:web:example%", False, "ends in '%'"),
    ("SYN-HDL-02", "handle", "example.1com", False, "TLD starts with a digit"),
    ("SYN-HDL-02", "handle", "127.0.0.1", False, "IPv4 literal"),
    ("SYN-HDL-02", "handle", "::1", False, "IPv6 literal"),
    ("SYN-HDL-02", "handle", "1.example.com", True, "a digit may lead other labels"),
    ("SYN-HDL-03", "handle", ".".join(["a" * 63] * 3) + "." + "b" * 61, True, "253 characters"),
    ("SYN-HDL-03", "handle", ".".join(["a" * 63] * 3) + "." + "b" * 62, False, "254 characters"),
    ("SYN-HDL-03", "handle", ".example.com", False, "leading dot"),
    ("SYN-HDL-03", "handle", "example.com.", False, "trailing dot"),
    ("SYN-HDL-03", "handle", "example..com", False, "empty label"),
    ("SYN-HDL-03", "handle", "com", False, "a bare TLD"),
    ("SYN-HDL-01", "handle", "a" * 63 + ".com", True, "63-character label"),
    ("SYN-HDL-01", "handle", "a" * 64 + ".com", False, "64-character label"),
    ("SYN-HDL-01", "handle", "-example.com", False, "label starts with a hyphen"),
    ("SYN-HDL-01", "handle", "example-.com", False, "label ends with a hyphen"),
    ("SYN-HDL-01", "handle", "exa_mple.com", False, "underscore"),
    ("SYN-HDL-05", "handle", "alice.local", True, "reserved TLD: valid syntax"),
    ("SYN-HDL-05", "handle", "alice.onion", True, "reserved TLD: valid syntax"),
    ("SYN-HDL-05", "handle", "alice.invalid", True, "reserved TLD: valid syntax"),
    ("SYN-HDL-05", "handle", "alice.example", True, "reserved TLD: valid syntax"),
    ("SYN-HDL-08", "handle", "@alice.example.com", False, "leading @"),
    ("SYN-HDL-09", "handle", "xn--ls8h.example", True, "punycode"),
    ("SYN-HDL-09", "handle", "\u00e9t\u00e9.example", False, "Unicode (not punycode)"),
    ("SYN-HDL-09", "handle", "\U0001f4a9.example", False, "emoji (not punycode)"),
    ("SYN-NSID-01", "nsid", "com.example", False, "two segments"),
    ("SYN-NSID-01", "nsid", "com.example." + "a" * 63, True, "63-character name"),
    ("SYN-NSID-01", "nsid", ".".join(["a" * 63] * 4) + "." + "a" * 61 + ".name", False, "over 317 chars"),
    ("SYN-NSID-01", "nsid", "com.\u00e9xample.thing", False, "non-ASCII"),
    ("SYN-NSID-02", "nsid", "com.-example.thing", False, "authority segment starts with a hyphen"),
    ("SYN-NSID-02", "nsid", "com.example-.thing", False, "authority segment ends with a hyphen"),
    ("SYN-NSID-02", "nsid", "com." + "a" * 64 + ".thing", False, "64-character authority segment"),
    ("SYN-NSID-02", "nsid", "com..thing", False, "empty segment"),
    ("SYN-NSID-02", "nsid", "com.exa_mple.thing", False, "underscore in the authority"),
    ("SYN-NSID-03", "nsid", "com.example.fooBar", True, "mixed-case name"),
    ("SYN-NSID-03", "nsid", "com.example.foo-bar", False, "hyphen in the name"),
    ("SYN-NSID-03", "nsid", "com.example.3foo", False, "name starts with a digit"),
    ("SYN-NSID-03", "nsid", "com.example.f00", True, "digits after the first character"),
    ("SYN-TID-01", "tid", "3jzfcijpj2z2a", True, "a TID"),
    ("SYN-TID-01", "tid", "3jzfcijpj2z2", False, "12 characters"),
    ("SYN-TID-01", "tid", "3jzfcijpj2z2aa", False, "14 characters"),
    ("SYN-TID-01", "tid", "3jzfcijpj2z21", False, "'1' is not in the alphabet"),
    ("SYN-TID-02", "tid", "3jzf-cij-pj2z-2a", False, "legacy dashed form"),
    ("SYN-TID-02", "tid", "3JZFCIJPJ2Z2A", False, "uppercase"),
    ("SYN-TID-03", "tid", "kjzfcijpj2z2a", False, "top bit set (first char k)"),
    ("SYN-TID-03", "tid", "zzzzzzzzzzzzz", False, "top bit set (first char z)"),
    ("SYN-TID-03", "tid", "jzzzzzzzzzzzz", True, "largest TID"),
    ("SYN-TID-03", "tid", "2222222222222", True, "smallest TID"),
    ("SYN-RKEY-01", "record-key", "a" * 512, True, "512 characters"),
    ("SYN-RKEY-01", "record-key", "a" * 513, False, "513 characters"),
    ("SYN-RKEY-01", "record-key", "", False, "empty"),
    ("SYN-RKEY-01", "record-key", "a/b", False, "slash"),
    ("SYN-RKEY-01", "record-key", "a b", False, "space"),
    ("SYN-RKEY-01", "record-key", "self:~_.-", True, "every punctuation allowed"),
    ("SYN-RKEY-02", "record-key", ".", False, "'.'"),
    ("SYN-RKEY-02", "record-key", "..", False, "'..'"),
    ("SYN-RKEY-02", "record-key", "...", True, "'...' is allowed"),
    (
        "SYN-URI-01",
        "at-uri",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/3jzfcijpj2z2a",
        True,
        "full",
    ),
    ("SYN-URI-01", "at-uri", "at://alice.example.com", True, "handle authority"),
    ("SYN-URI-01", "at-uri", "at://alice.example.com/com.example.thing", True, "collection"),
    ("SYN-URI-01", "at-uri", "at://alice/com.example.thing", False, "authority is not a handle or DID"),
    ("SYN-URI-01", "at-uri", "at://alice.example.com/not-an-nsid", False, "collection is not an NSID"),
    (
        "SYN-URI-02",
        "at-uri",
        "at://" + ".".join(["a" * 63] * 3) + ".b/com.example." + "c" * 63 + "/" + "r" * 512,
        True,
        "long parts, each within its own limit",
    ),
    ("SYN-URI-02", "at-uri", "at://did:web:" + "a" * 8200, False, "over 8 KB"),
    ("SYN-URI-03", "at-uri", "at://did:plc:asdfghjklzxcvbnmqwertyui/", False, "trailing slash"),
    (
        "SYN-URI-03",
        "at-uri",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/",
        False,
        "trailing slash",
    ),
    ("SYN-URI-03", "at-uri", "at://did:plc:asdfghjklzxcvbnmqwertyui//3jzfcijpj2z2a", False, "empty segment"),
    (
        "SYN-URI-03",
        "at-uri",
        "at://alice.example.com/com.example.thing/3jzfcijpj2z2a/extra",
        False,
        "extra path",
    ),
    ("SYN-URI-04", "at-uri", "at://user@alice.example.com", False, "userinfo"),
    ("SYN-URI-04", "at-uri", "at://@alice.example.com", False, "@ before a handle"),
    ("SYN-URI-04", "at-uri", "at://alice.example.com:8080", False, "host:port"),
    ("SYN-URI-04", "at-uri", "at://", False, "empty authority"),
    ("SYN-URI-05", "at-uri", "at://alice.example.com/com.example.thing/3jzfcijpj2z2a?q=1", False, "query"),
    (
        "SYN-URI-05",
        "at-uri",
        "at://alice.example.com/com.example.thing/3jzfcijpj2z2a#frag",
        False,
        "fragment",
    ),
    ("SYN-DT-01", "datetime", "1985-04-12T23:20:50.123Z", True, "milliseconds, Z"),
    ("SYN-DT-01", "datetime", "1985-04-12T23:20:50Z", True, "whole seconds"),
    ("SYN-DT-01", "datetime", "1985-04-12T23:20:50.123456789Z", True, "nanoseconds"),
    ("SYN-DT-01", "datetime", "1985-04-12T23:20:50.123+05:30", True, "offset"),
    ("SYN-DT-01", "datetime", "1985-04-12T23:20:50.123", False, "no timezone"),
    ("SYN-DT-01", "datetime", "1985-04-12T23:20Z", False, "no seconds"),
    ("SYN-DT-01", "datetime", "1985-04-12", False, "date only"),
    ("SYN-DT-02", "datetime", "1985-04-12T23:20:50.123-00:00", False, "-00:00"),
    ("SYN-DT-02", "datetime", "1985-04-12t23:20:50.123z", False, "lowercase t and z"),
    ("SYN-DT-02", "datetime", "1985-04-12 23:20:50.123Z", False, "space separator"),
    ("SYN-DT-02", "datetime", "1985-04-12T23:20:50.123+0000", False, "+0000"),
    ("SYN-DT-02", "datetime", "1985-04-12T23:20:50.123+00", False, "+00"),
    ("SYN-DT-02", "datetime", "+1985-04-12T23:20:50.123Z", False, "signed year"),
    ("SYN-DT-02", "datetime", "01985-04-12T23:20:50.123Z", False, "5-digit year"),
    ("SYN-DT-03", "datetime", "1985-00-12T23:20:50.123Z", False, "month 00"),
    ("SYN-DT-03", "datetime", "1985-13-12T23:20:50.123Z", False, "month 13"),
    ("SYN-DT-03", "datetime", "1985-04-00T23:20:50.123Z", False, "day 00"),
    ("SYN-DT-03", "datetime", "1985-04-12T25:20:50.123Z", False, "hour 25"),
    ("SYN-DT-03", "datetime", "1985-04-12T23:99:50.123Z", False, "minute 99"),
    ("SYN-DT-03", "datetime", "1985-04-12T23:20:61.123Z", False, "second 61"),
    ("SYN-LANG-01", "language", "en", True, "two letters"),
    ("SYN-LANG-01", "language", "pt-BR", True, "region"),
    ("SYN-LANG-01", "language", "zh-Hant-TW", True, "script and region"),
    ("SYN-LANG-01", "language", "i-default", True, "grandfathered"),
    ("SYN-LANG-01", "language", "x-private", True, "private use"),
    ("SYN-LANG-01", "language", "", False, "empty"),
    ("SYN-LANG-01", "language", "en_US", False, "underscore"),
    ("SYN-LANG-01", "language", "e", False, "one letter"),
    ("SYN-LANG-01", "language", "en-", False, "trailing hyphen"),
    ("SYN-CID-01", "cid", CID, True, "base32 CIDv1"),
    ("SYN-CID-01", "cid", "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY", False, "CIDv0"),
    ("SYN-CID-01", "cid", " " + CID, False, "leading whitespace"),
    ("SYN-CID-01", "cid", CID + " ", False, "trailing whitespace"),
    ("SYN-CID-01", "cid", "not-a-cid", False, "not a CID"),
    ("SYN-ATID-01", "at-identifier", "alice.example.com", True, "a handle"),
    ("SYN-ATID-01", "at-identifier", "did:plc:asdfghjklzxcvbnmqwertyui", True, "a DID"),
    ("SYN-ATID-01", "at-identifier", "at://alice.example.com", False, "an AT-URI"),
    ("SYN-ATID-01", "at-identifier", "@alice.example.com", False, "leading @"),
    ("SYN-ATID-01", "at-identifier", "did:plc", False, "neither"),
    ("SYN-GURI-01", "uri", "https://example.com/path?q=1#frag", True, "https"),
    ("SYN-GURI-01", "uri", "at://did:plc:asdfghjklzxcvbnmqwertyui", True, "at"),
    ("SYN-GURI-01", "uri", "mailto:alice@example.com", True, "no authority"),
    ("SYN-GURI-01", "uri", "example.com/path", False, "no scheme"),
    ("SYN-GURI-01", "uri", "https://example.com/" + "a" * 8200, False, "over 8 KB"),
    ("SYN-GURI-01", "uri", "https://exa mple.com", False, "a space"),
]


def rule_cases() -> list[Case]:
    cases = [
        _case(kind, value, valid, row, f"rule {row} #{i}", why)
        for i, (row, kind, value, valid, why) in enumerate(_RULES, start=1)
    ]
    return cases + tid_cases()


def tid_cases() -> list[Case]:
    """The library's TID generator: 2000 back to back (monotonic, never repeating, even within one µs) and a
    few checked against atcheck's clock (µs since the epoch, not ms)."""
    return [
        Case(
            "tid.next", {"count": 2000}, "tids", "SYN-TID-04", "rule SYN-TID-04", why="2000 TIDs back to back"
        ),
        Case(
            "tid.next", {"count": 5}, "tids", "SYN-TID-05", "rule SYN-TID-05", value=300, why="within 5 min"
        ),
    ]


# -- generated: grammar values and one-edit near-misses ------------------------------------------------------

_LOWER = string.ascii_lowercase
_ALNUM = string.ascii_letters + string.digits


def _label(rng: random.Random, alphabet: str = _ALNUM) -> str:
    size = rng.choice([1, 2, 3, 5, 8, 12, 20, 40, 63])
    if size == 1:
        return rng.choice(alphabet)
    middle = "".join(rng.choice(alphabet + "-") for _ in range(size - 2))
    return rng.choice(alphabet) + middle + rng.choice(alphabet)


def _tld(rng: random.Random) -> str:
    return rng.choice(string.ascii_letters) + "".join(rng.choice(_ALNUM) for _ in range(rng.randint(0, 8)))


def _handle(rng: random.Random) -> str:
    return ".".join([*(_label(rng) for _ in range(rng.randint(1, 3))), _tld(rng)])


def _did(rng: random.Random) -> str:
    method = rng.choice(["plc", "web", "key", "example", "".join(rng.choice(_LOWER) for _ in range(5))])
    body = "".join(rng.choice(_ALNUM + "._:%-") for _ in range(rng.randint(1, 40)))
    return f"did:{method}:{body}{rng.choice(_ALNUM)}"


def _nsid(rng: random.Random) -> str:
    authority = [_label(rng, _LOWER + string.digits).lower() for _ in range(rng.randint(1, 3))]
    authority[0] = rng.choice(_LOWER) + authority[0][1:] if authority[0] else "a"
    name = rng.choice(string.ascii_letters) + "".join(rng.choice(_ALNUM) for _ in range(rng.randint(0, 12)))
    return ".".join([_tld(rng).lower(), *authority, name])


def _tid(rng: random.Random) -> str:
    return encode_tid(rng.randrange(1 << 53), rng.randrange(1024))


def _rkey(rng: random.Random) -> str:
    return "".join(rng.choice(_ALNUM + "._:~-") for _ in range(rng.choice([1, 2, 5, 13, 30, 100])))


def _at_uri(rng: random.Random) -> str:
    parts = [rng.choice([_handle(rng), _did(rng).replace("%", "")])]
    if rng.random() < 0.7:
        parts.append(_nsid(rng))
        if rng.random() < 0.7:
            parts.append(rng.choice([_tid(rng), _rkey(rng).strip(".") or "self"]))
    return "at://" + "/".join(parts)


def _datetime(rng: random.Random) -> str:
    date = f"{rng.randint(1, 9999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    time = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    frac = rng.choice(["", ".1", ".123", ".123456", ".000000000"])
    zone = rng.choice(["Z", "+00:00", "+05:30", "-08:00"])
    return f"{date}T{time}{frac}{zone}"


def _language(rng: random.Random) -> str:
    tag = "".join(rng.choice(_LOWER) for _ in range(rng.choice([2, 3])))
    if rng.random() < 0.5:
        tag += "-" + rng.choice(["US", "BR", "Latn", "419", "Hant-TW"])
    return tag


_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "handle": _handle,
    "did": _did,
    "nsid": _nsid,
    "tid": _tid,
    "record-key": _rkey,
    "at-uri": _at_uri,
    "datetime": _datetime,
    "language": _language,
    "at-identifier": lambda rng: rng.choice([_handle, _did])(rng),
}
#: Kinds whose generated values carry no '%': the oracle also requires two hex digits after one (as W3C DID
#: syntax does), which the atproto DID spec's own regex does not say, so such a value's verdict is not
#: settled by the spec text. The official vectors and the rule cases cover '%' where it is settled.
_NO_PERCENT = frozenset({"did", "at-identifier", "at-uri"})
_INSERTS = " @/#?%:._-~*\u00e9\u0000\t" + "AZ09"


def _near_misses(rng: random.Random, value: str) -> Iterator[str]:
    """One small edit each: a character inserted, one dropped, one's case flipped, a prefix or suffix."""
    if not value:
        return
    i = rng.randrange(len(value))
    yield value[:i] + rng.choice(_INSERTS) + value[i:]
    yield value[:i] + value[i + 1 :]
    yield value[:i] + value[i].swapcase() + value[i + 1 :]
    yield rng.choice([" ", "@", ".", "-", "x"]) + value
    yield value + rng.choice([" ", ".", "-", "/", ":", "%"])


def generated_cases(per_kind: int = 60, seed: int = SEED) -> list[Case]:
    """Grammar values and near-misses of every kind, judged by the oracle (deterministic for a seed)."""
    cases: list[Case] = []
    for kind, make in _GENERATORS.items():
        rng = random.Random(f"{seed}:{kind}")
        oracle = KINDS[kind]
        seen: set[str] = set()
        for n in range(per_kind):
            value = make(rng)
            for candidate in (value, *_near_misses(rng, value)):
                if candidate in seen or (kind in _NO_PERCENT and "%" in candidate):
                    continue
                seen.add(candidate)
                source = f"generated (seed {seed}, {kind} #{n})"
                cases.append(_case(kind, candidate, oracle(candidate), MAIN_ROW[kind], source))
    return cases
