"""Known, explained disagreements between atcheck's syntax verdicts and the reference libraries.

The syntax counterpart of :mod:`atcheck.schema.disagreements`: calibration (:mod:`atcheck.libs.calibrate`)
asks atcheck and every library the same strings, and files each disagreement under the first entry here
that matches it. Each entry says which kind and library, an example, who is right, and the spec sentence
(with its URL) or official vector that decides it. A disagreement that matches none is UNCLASSIFIED: either
atcheck is wrong (fix :mod:`atcheck.syntax` and add a self-test) or a new class needs its sentence here.

A disagreement on an official vector line is decided by that line: when atcheck agrees with the vector the
class is ``vector`` (the library is wrong, and the libs suite's baseline already lists it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from atcheck.oracle.cid import parse_cid
from atcheck.oracle.errors import OracleError
from atcheck.syntax import CHECKS, SyntaxViolation, check_language_validity, is_valid_language

Matcher = Callable[[str, bool, bool], bool]
"""(value, atcheck accepts, library accepts) -> whether the disagreement is of this class."""


@dataclass(frozen=True)
class Known:
    id: str
    kind: str
    libraries: tuple[str, ...]
    summary: str
    example: str
    right: str  # "atcheck", the library's name, or "open: ..." when spec text and vectors part ways
    decided_by: str
    matches: Matcher


VECTOR = "the official vector line itself (atproto-interop-tests syntax/<kind>_syntax_{valid,invalid}.txt)"


def vector_class(kind: str, library: str) -> Known:
    """The class of a library's disagreement with an official vector that atcheck agrees with."""
    return Known(
        f"vector-{kind}-{library}",
        kind,
        (library,),
        f"{library} disagrees with an official {kind} vector that atcheck follows",
        "",
        "atcheck",
        VECTOR,
        lambda v, a, b: True,
    )


TS = "lib-typescript"
GO = "lib-go"
PY = "lib-python"
RS = "lib-rust"
LEX = "@atproto/lexicon"
LEXRPC = "lexrpc"

LEXICON = "https://atproto.com/specs/lexicon"
AT_URI = "https://atproto.com/specs/at-uri-scheme"
DATA_MODEL = "https://atproto.com/specs/data-model"
DID = "https://atproto.com/specs/did"
RFC5646 = "https://www.rfc-editor.org/rfc/rfc5646"
RFC3339 = "https://www.rfc-editor.org/rfc/rfc3339"
RFC3986 = "https://www.rfc-editor.org/rfc/rfc3986"
LANGUAGE_SPEC = (
    f'{LEXICON}#language: \'The Lexicon string must validate as a "well-formed" language tag, as defined in '
    "the RFC.'"
)
RESTRICTED_AT_URI = (
    f"{AT_URI}#restricted-at-uri-syntax: 'A restricted sub-set of valid AT URIs are currently used in "
    "Lexicons for the `at-uri` type. Query parameters and fragments are not currently used. Trailing slashes "
    "are not allowed, including a trailing slash after the authority with no other path.' and the grammar "
    'AT-URI = "at://" AUTHORITY [ "/" COLLECTION [ "/" RKEY ] ]'
)
DATETIME_SPEC = (
    f"{LEXICON}#datetime: 'Datetime strings in atproto should meet the intersecting requirements of the RFC "
    "3339, ISO 8601, and WHATWG HTML datetime standards.'"
)


def _reason(kind: str, value: str) -> str:
    """atcheck's refusal reason for ``value`` ("" when atcheck accepts it)."""
    try:
        CHECKS[kind](value)
    except SyntaxViolation as exc:
        return exc.reason
    return ""


def _lax(test: Callable[[str], bool]) -> Matcher:
    """atcheck rejects, the library accepts, and ``test(value)`` holds."""
    return lambda v, a, b: (not a) and b and test(v)


def _strict(test: Callable[[str], bool]) -> Matcher:
    """atcheck accepts, the library rejects, and ``test(value)`` holds."""
    return lambda v, a, b: a and (not b) and test(v)


def _primary(value: str) -> str:
    return value.split("-", 1)[0]


def _primary_case_or_length(value: str) -> bool:
    """The tag has a primary subtag in uppercase or of 4-8 letters, and is well-formed under RFC 5646 (the
    vectors refuse ``JA`` and ``jaja``; the spec overrules those two lines)."""
    primary = _primary(value)
    if not primary.isascii() or not primary.isalpha():
        return False
    unusual = primary != primary.lower() or 4 <= len(primary) <= 8
    return unusual and is_valid_language(value)


def _decodes_as_base32_cid(value: str) -> bool:
    try:
        parse_cid(value)
    except OracleError:
        return False
    return True


_PY_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9.-]+")
_PY_NSID = re.compile(r"[a-z][a-zA-Z0-9-]*(?:\.[a-z][a-zA-Z0-9-]*)*\.[a-zA-Z][a-zA-Z0-9-]*")


def _python_at_uri(value: str, atcheck: bool) -> bool:
    """The SDK's AT_URI_RE in its two known ways: a DID identifier beyond [A-Za-z0-9.-] or an NSID segment
    not starting with a lowercase letter (valid, refused); a label or NSID name ending in '-', or a
    two-segment collection (invalid, accepted)."""
    parts = value[len("at://") :].split("/")
    if atcheck:
        authority = parts[0]
        odd_did = authority.startswith("did:") and not _PY_DID.fullmatch(authority)
        odd_nsid = len(parts) > 1 and not _PY_NSID.fullmatch(parts[1])
        return odd_did or odd_nsid
    reason = _reason("at-uri", value)
    return "must be [A-Za-z0-9-] and not st" in reason or reason.startswith(
        ("collection: name", "collection: needs at least three")
    )


def _uppercase_handle_or_nsid_authority(value: str) -> bool:
    parts = value[len("at://") :].split("/")
    handle = not parts[0].startswith("did:") and parts[0] != parts[0].lower()
    nsid = len(parts) > 1 and parts[1].rsplit(".", 1)[0] != parts[1].rsplit(".", 1)[0].lower()
    return handle or nsid


def _reason_any(value: str) -> str:
    """atcheck's reason for refusing ``value`` as whatever kind its shape says (DID, at-uri or handle)."""
    kind = "at-uri" if value.startswith("at://") else "did" if value.startswith("did:") else "handle"
    return _reason(kind, value)


def _reason_validity(value: str) -> str:
    try:
        check_language_validity(value)
    except SyntaxViolation as exc:
        return exc.reason
    return ""


def _uri_scheme(value: str) -> str:
    return value.split(":", 1)[0]


_ALL: list[Known] = [
    # -- language (BCP 47) -----------------------------------------------------------------------------
    Known(
        "lang-primary-case-and-length",
        "language",
        (GO, PY, LEXRPC),
        "refuses a primary language subtag in uppercase (EN-us) or of 4-8 letters (abcd), which RFC 5646's "
        "ABNF and case-insensitivity allow (as the official vectors do for 'JA' and 'jaja', lines the spec "
        "overrules: atcheck.syntax.VECTOR_LINES_OVERRULED)",
        "EN-us",
        "atcheck (the spec decides against the two vector lines; see SYN-LANG-01's deviations)",
        f"{LANGUAGE_SPEC} and {RFC5646}#section-2.1.1: 'language tags and their subtags, including private "
        "use and extensions, are to be treated as case insensitive'; §2.1 ABNF: language = 2*3ALPHA "
        '["-" extlang] / 4ALPHA / 5*8ALPHA',
        _strict(_primary_case_or_length),
    ),
    Known(
        "lang-grandfathered-case",
        "language",
        (TS, LEX),
        "refuses a grandfathered tag written in uppercase (I-KLINGON)",
        "I-KLINGON",
        "atcheck",
        f"{LANGUAGE_SPEC} {RFC5646}#section-2.1.1: subtags 'are to be treated as case insensitive'; the "
        "vectors accept 'X-fr-CH' (\"private-use subtags are case-insensitive\")",
        _strict(lambda v: v.lower() != v and v.lower().startswith("i-")),
    ),
    Known(
        "lang-privateuse-and-grandfathered",
        "language",
        (GO, PY, LEXRPC),
        "refuses a private-use-only tag (x-whatever) or an irregular grandfathered one (i-klingon)",
        "x-private",
        "atcheck",
        f"{LANGUAGE_SPEC} {RFC5646}#section-2.1: 'Language-Tag = langtag / privateuse / grandfathered'; "
        "official vectors syntax/language_syntax_valid.txt list 'X-fr-CH', 'i-default', 'i-navajo'",
        _strict(lambda v: v[:2].lower() in ("x-", "i-")),
    ),
    Known(
        "lang-validity-not-wellformedness",
        "language",
        (GO, PY, LEXRPC),
        "refuses a well-formed tag that repeats a variant or extension singleton (RFC 5646 validity)",
        "de-1901-1901",
        "atcheck",
        f'{LANGUAGE_SPEC} \'Clients should ignore language strings which are "well-formed" but not '
        "\"valid\" according to the RFC.' The vectors' language_parse_invalid.txt calls such tags "
        "'well-formed BCP 47 syntax, but not \"valid\"'",
        _strict(lambda v: _reason_validity(v) != ""),
    ),
    Known(
        "lang-loose-grammar",
        "language",
        (GO, PY, LEXRPC),
        "accepts tags the RFC 5646 ABNF does not produce: a lone singleton (en-x, en-a-b), two scripts, four "
        "extlangs, a 1-character or 9-character subtag, a trailing or doubled hyphen, a region then a "
        "2-letter subtag (de-419-DE)",
        "en-x",
        "atcheck",
        f'{LANGUAGE_SPEC} {RFC5646}#section-2.1: privateuse = "x" 1*("-" (1*8alphanum)); extension = '
        'singleton 1*("-" (2*8alphanum)); variant = 5*8alphanum / (DIGIT 3alphanum); extlang = 3ALPHA '
        "*2(\"-\" 3ALPHA). The vectors list 'ja-' as invalid and leave 'de-419-DE' commented out as "
        "'technically not valid'",
        _lax(lambda v: _primary(v).isascii() and _primary(v).islower() and 1 <= len(_primary(v)) <= 3),
    ),
    # -- cid ------------------------------------------------------------------------------------------
    Known(
        "cid-v0",
        "cid",
        (TS, LEX, GO, PY, LEXRPC),
        "accepts a CIDv0 string (Qm...)",
        "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
        "atcheck",
        "official vector syntax/cid_syntax_invalid.txt, under '# old CIDv0 not supported', lists "
        f"'QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR'; {DATA_MODEL}#link-and-cid-formats: 'CID version: "
        "1 (0x01)'",
        _lax(lambda v: v.startswith("Qm")),
    ),
    Known(
        "cid-parsed-not-lexical",
        "cid",
        (TS, LEX),
        "refuses cid strings it cannot decode (another multibase such as base16 'f...' or base32upper "
        "'B...', a truncated or contrived CID) that atcheck's lexical check accepts",
        "f01711220abab...",
        "atcheck (the vectors' lexical reading)",
        "official vector syntax/cid_syntax_valid.txt accepts contrived, undecodable strings under '# more "
        "contrived examples' ('mBcDxtdWx0aWhhc2g+', 'z7x3CtScH765HvShXT') and a base16 CIDv1 "
        f"('f0170...'); {LEXICON}#string-formats: 'cid: CID in string format, details specified in Data "
        "Model'. Whether a CID is blessed (base32 'b', sha-256) is SYN-CID-02, for producers",
        _strict(lambda v: not _decodes_as_base32_cid(v)),
    ),
    Known(
        "cid-length-and-padding",
        "cid",
        (PY, LEXRPC),
        "no upper bound on a cid string (atcheck: 256) and no '=' (multibase base64pad 'M'/'U' padding)",
        "b" + "a" * 300,
        "spec silent; atcheck follows the reference lexical rule [A-Za-z0-9+=]{8,256} (indigo "
        "atproto/syntax ParseCID agrees on every probe)",
        f"{LEXICON}#string-formats: 'cid: CID in string format, details specified in Data Model'; the data "
        "model sets no length. No vector has a cid over 256 characters or with '='",
        lambda v, a, b: (len(v) > 256 and not a and b) or ("=" in v and a and not b),
    ),
    # -- datetime -------------------------------------------------------------------------------------
    Known(
        "datetime-impossible-date",
        "datetime",
        (TS,),
        "accepts a calendar date that does not exist (2023-02-29)",
        "2023-02-29T00:00:00Z",
        "atcheck (a SHOULD)",
        f'{LEXICON}#datetime: \'Implementations "should" validate that the semantics of the datetime are '
        "valid. For example, a month or day `00` is invalid.'; vectors datetime_parse_invalid.txt",
        _lax(lambda v: "does not exist" in _reason("datetime", v)),
    ),
    Known(
        "datetime-comma-or-offset-24",
        "datetime",
        (GO, PY, LEXRPC),
        "accepts a comma before the fraction or the basic format (ISO 8601 only), or an offset hour of 24",
        "1985-04-12T23:20:50,123Z",
        "atcheck",
        f'{DATETIME_SPEC} {RFC3339}#section-5.6: time-secfrac = "." 1*DIGIT; time-numoffset = ("+" / '
        '"-") time-hour ":" time-minute, time-hour = 2DIGIT ; 00-23',
        _lax(lambda v: "," in v or v.endswith(("+24:00", "-24:00")) or v[:8].isdigit()),
    ),
    Known(
        "datetime-year-zero",
        "datetime",
        (PY, RS, LEXRPC),
        "refuses year 0000",
        "0000-01-01T00:00:00Z",
        "atcheck",
        "official vector syntax/datetime_syntax_valid.txt lists '0000-01-01T00:00:00.000Z'; "
        f"{LEXICON}#datetime: 'Datetimes before year zero (in astronomical time) are "
        "specifically disallowed.'",
        _strict(lambda v: v.startswith("0000-")),
    ),
    Known(
        "datetime-unanchored",
        "datetime",
        (PY, LEXRPC),
        "accepts a datetime with stray characters ('.123456?+00:00', a second fraction, 'Z' then an offset)",
        "5183-07-06T13:58:37.123456?+00:00",
        "atcheck",
        f"{DATETIME_SPEC} (RFC 3339 §5.6 full-time = partial-time time-offset: nothing between them)",
        _lax(lambda v: "not of the form" in _reason("datetime", v)),
    ),
    Known(
        "datetime-lenient-parse",
        "datetime",
        (LEX,),
        "accepts what a lenient ISO 8601 parser takes: no timezone, '+0530', one-digit seconds, a trailing "
        "'-', second 60, the basic format, an impossible date",
        "2637-12-04T19:15:3+00:00",
        "atcheck",
        f"{DATETIME_SPEC} 'Timezone specification is required.'; 'Whole seconds precision is required'; "
        "WHATWG HTML's valid time string has seconds 0-59; the vector datetime_syntax_invalid.txt lists "
        "'1985-04-12T23:20:50.123' (no timezone) and '1985-04-12T23:20:50.123+0000'",
        _lax(
            lambda v: _reason("datetime", v).startswith(
                ("not of the form", "day ", "time of day", "timezone offset")
            )
        ),
    ),
    Known(
        "datetime-negative-zero",
        "datetime",
        (LEXRPC,),
        "accepts the '-00:00' timezone",
        "1985-04-12T23:20:50.123-00:00",
        "atcheck",
        f"{LEXICON}#datetime: '\"negative zero\" (`-00:00`) is specifically disallowed (by ISO 8601)'; "
        "vector syntax/datetime_syntax_invalid.txt lists 1985-04-12T23:20:50.123-00:00",
        _lax(lambda v: v.endswith("-00:00")),
    ),
    # -- at-uri ---------------------------------------------------------------------------------------
    Known(
        "at-uri-general-syntax",
        "at-uri",
        (TS, LEX, RS),
        "accepts the general AT-URI syntax (query, fragment, trailing slash, extra path segments, a "
        "collection that is not an NSID, '.'/'..' or percent-encoded record keys) in the "
        "Lexicon at-uri format",
        "at://did:plc:asdfghjklzxcvbnmqwertyui/com.example.thing/self/",
        "atcheck",
        RESTRICTED_AT_URI,
        _lax(
            lambda v: _reason("at-uri", v).startswith(
                ("query and fragment", "path has more", "collection:", "record key:")
            )
        ),
    ),
    Known(
        "at-uri-python-regex",
        "at-uri",
        (PY,),
        "its one regex for the whole AT-URI refuses valid DIDs (':', '_' or '%' in the identifier) and NSIDs "
        "(a domain segment starting with a digit, or with uppercase), and accepts a handle or NSID name "
        "ending in '-' and two-segment collections",
        "at://did:key:2AQnEjL:Ak.es/gv79ytaj.u.aXrgD5EFTFb/w2",
        "atcheck",
        f"{AT_URI}: 'AUTHORITY = HANDLE | DID', 'COLLECTION = NSID', 'RKEY = RECORD-KEY'; {DID}: the "
        "identifier is [a-zA-Z0-9._:%-]; https://atproto.com/specs/nsid and https://atproto.com/specs/handle "
        "grammars (the vectors: did:method:val:two, a.b-c.d style segments)",
        lambda v, a, b: _python_at_uri(v, a),
    ),
    Known(
        "at-uri-uppercase-handle-or-nsid",
        "at-uri",
        (LEXRPC,),
        "refuses an at-uri whose handle authority or collection NSID authority has uppercase letters",
        "at://Alice.Example.com/com.example.thing/k",
        "atcheck",
        "https://atproto.com/specs/handle: handles are case-insensitive; https://atproto.com/specs/nsid: "
        "'the domain authority is not case-sensitive, and should be normalized to lowercase', "
        "'Implementations should not force-lowercase NSIDs'",
        _strict(_uppercase_handle_or_nsid_authority),
    ),
    Known(
        "did-trailing-percent-or-length",
        "*",
        (LEXRPC,),
        "accepts a DID (alone, as an at-identifier or as an at-uri authority) ending in '%' or over 2048 "
        "characters, or a handle over 253",
        "did:web:example%",
        "atcheck",
        f"{DID}: 'The DID identifier may not end in : or %' and 'DIDs are ... at most 2 KB' (SYN-DID-01/02); "
        "vector syntax/did_syntax_invalid.txt lists 'did:method:val%'; "
        "https://atproto.com/specs/handle: 'overall length is limited to 253 ASCII characters'",
        _lax(
            lambda v: any(
                n in _reason_any(v)
                for n in ("not ending in ':' or '%'", "longer than 2048", "longer than 253")
            )
        ),
    ),
    Known(
        "nsid-uppercase-authority",
        "nsid",
        (LEXRPC,),
        "refuses an NSID whose domain authority has uppercase letters",
        "Ocfx.w.RFejR",
        "atcheck",
        "https://atproto.com/specs/nsid: 'the domain authority is not case-sensitive, and should be "
        "normalized to lowercase'; 'Implementations should not force-lowercase NSIDs'",
        _strict(lambda v: v.rsplit(".", 1)[0] != v.rsplit(".", 1)[0].lower()),
    ),
    Known(
        "tid-first-letter",
        "tid",
        (LEXRPC,),
        "refuses every TID whose first character is a letter (its high-bit test reads the ASCII code)",
        "jzzzzzzzzzzzz",
        "atcheck",
        "https://atproto.com/specs/tid: 'the first character must be one of `234567abcdefghij`'",
        _strict(lambda v: v[:1] in "abcdefghij"),
    ),
    # -- did ------------------------------------------------------------------------------------------
    Known(
        "did-empty-method",
        "did",
        (RS,),
        "accepts an empty DID method ('did::web:...')",
        "did::web:LhCgJinsiFJf_M",
        "atcheck",
        f"{DID}: 'The method segment is one or more lowercase letters (a-z), followed by :'",
        _lax(lambda v: v.startswith("did::")),
    ),
    # -- uri ------------------------------------------------------------------------------------------
    Known(
        "uri-scheme-characters",
        "uri",
        (TS, LEX, GO),
        "refuses an RFC 3986 scheme with digits, '+', '-' or '.' (@atproto: ^\\w+:, indigo: letters, '.' and "
        "'-')",
        "p+auj:%fA",
        "atcheck",
        f"{LEXICON}#uri: 'Flexible to any URI schema, following the generic RFC-3986 on URIs'; "
        f'{RFC3986}#section-3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )',
        _strict(lambda v: any(c in _uri_scheme(v) for c in "0123456789+-.")),
    ),
    Known(
        "uri-length",
        "uri",
        (TS, LEX),
        "accepts a uri longer than 8 KiB",
        "https://example.com/aaaa... (8 KiB + 1)",
        "atcheck",
        f"{LEXICON}#uri: 'Maximum length in Lexicons is 8 KBytes.'",
        _lax(lambda v: len(v.encode()) > 8 * 1024),
    ),
]
KNOWN: dict[str, Known] = {k.id: k for k in _ALL}


TRAILING_NEWLINE = Known(
    "python-regex-dollar-newline",
    "*",
    (PY,),
    "accepts a value followed by a newline (Python's re '$' matches before a final '\\n')",
    "bafy...\\n",
    "atcheck",
    "official vectors list values with trailing whitespace as invalid (e.g. syntax/cid_syntax_invalid.txt "
    "'# whitespace'); no syntax in the specs allows a newline",
    lambda v, a, b: True,
)


def classify(
    library: str, kind: str, value: str, atcheck: bool, library_says: bool, expected: bool | None
) -> Known | None:
    """The class this disagreement falls in, or None (unclassified)."""
    if expected is not None:
        return vector_class(kind, library) if atcheck == expected else None
    if library == PY and library_says and not atcheck and value.endswith("\n"):
        return TRAILING_NEWLINE
    for known in _ALL:
        if (
            known.kind in (kind, "*")
            and library in known.libraries
            and known.matches(value, atcheck, library_says)
        ):
            return known
    return None
