"""Known, explained disagreements between atcheck and the reference Lexicon validators.

Each entry says who disagrees, on what, and the spec sentence (or official vector) that decides it. The
differential run (:mod:`atcheck.schema.differential`) matches every disagreement against these; anything that
matches none is reported as UNEXPLAINED and must be fixed or added here with its deciding sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atcheck.schema.generate import Mutation


@dataclass(frozen=True)
class Known:
    id: str
    validator: str
    summary: str
    decided_by: str
    atcheck_right: bool
    matches: Callable[[Mutation | None, str | None, dict[str, Any]], bool]


def _constraint(*names: str) -> Callable[[Mutation | None, str | None, dict[str, Any]], bool]:
    return lambda m, err, rec: m is not None and m.constraint in names


def _error_has(*needles: str) -> Callable[[Mutation | None, str | None, dict[str, Any]], bool]:
    return lambda m, err, rec: err is not None and any(n in err for n in needles)


def _both(
    a: Callable[[Mutation | None, str | None, dict[str, Any]], bool],
    b: Callable[[Mutation | None, str | None, dict[str, Any]], bool],
) -> Callable[[Mutation | None, str | None, dict[str, Any]], bool]:
    return lambda m, err, rec: a(m, err, rec) and b(m, err, rec)


def _at_uri_uppercase_authority(m: Mutation | None, err: str | None, rec: dict[str, Any]) -> bool:
    found = re.search(r"(at://\S+) is invalid for format at-uri", err or "")
    if not found:
        return False
    authority = found.group(1)[len("at://") :].split("/")[0]
    return not authority.startswith("did:") and authority != authority.lower()


#: A URI whose scheme holds '+', '-' or '.' (RFC 3986 allows them; @atproto/lexicon's ``^\\w+:`` does not).
_PUNCTUATED_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9]*[+.-][A-Za-z0-9+.-]*:")


def _strings(value: Any) -> list[str]:
    """Every string anywhere in a record (the URI that was refused is one of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


BLOB_SPEC = (
    "lexicon §blob: 'accept (array of strings, optional): list of acceptable MIME types'; 'maxSize (integer, "
    "optional): maximum size in bytes'. Official vectors record-data-invalid.json 'blob too large' and "
    "'blob wrong type' are invalid."
)

_ALL = [
    Known(
        "ts-blob-constraints",
        "@atproto/lexicon",
        "blob maxSize/accept not checked during record validation",
        BLOB_SPEC + " (@atproto/lexicon leaves them to the PDS's blob handling.)",
        True,
        _constraint("maxSize", "accept"),
    ),
    Known(
        "lexrpc-blob-constraints",
        "lexrpc",
        "blob maxSize/accept/shape not checked (disabled in lexrpc 3.0)",
        BLOB_SPEC + " data-model §blob: a blob has $type 'blob', ref, mimeType and size.",
        True,
        _constraint("maxSize", "accept", "blob"),
    ),
    Known(
        "lexrpc-bytes-json",
        "lexrpc",
        "expects decoded bytes, rejects the JSON {'$bytes': base64} form",
        "lexicon §bytes: 'In the JSON format, these fields are encoded as {\"$bytes\":<base64-string>}'.",
        True,
        _error_has("has unexpected type dict"),
    ),
]
_ALL += [
    Known(
        "ts-datetime-no-timezone",
        "@atproto/lexicon",
        "accepts a datetime with no timezone (e.g. 2023-01-01T12:00:00)",
        "lexicon §datetime (https://atproto.com/specs/lexicon#datetime): 'Timezone specification is "
        "required.'; official vector syntax/datetime_syntax_invalid.txt, under '# timezone is required', "
        "lists 1985-04-12T23:20:50.123.",
        True,
        lambda m, err, rec: (
            m is not None and m.constraint == "format" and m.detail.endswith("(a timezone is required)")
        ),
    ),
    Known(
        "ts-uri-rfc3986",
        "@atproto/lexicon",
        "rejects RFC 3986 URIs whose scheme holds '+', '-' or '.' (its regex is ^\\w+:)",
        "lexicon §uri: 'Flexible to any URI schema, following the generic RFC-3986 on URIs'; RFC 3986 §3.1: "
        'scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).',
        True,
        lambda m, err, rec: (
            m is None
            and ("must be a uri" in (err or "") or "Invalid uri" in (err or ""))
            and any(map(_PUNCTUATED_SCHEME.match, _strings(rec)))
        ),
    ),
    Known(
        "ts-uri-length",
        "@atproto/lexicon",
        "accepts uri-format strings longer than 8 KiB",
        "lexicon §uri: 'Maximum length in Lexicons is 8 KBytes.'",
        True,
        lambda m, err, rec: m is not None and m.constraint == "format" and "URI is at most 8 KiB" in m.detail,
    ),
    Known(
        "ts-union-record-ref",
        "@atproto/lexicon",
        "fails on a union variant that is a record def ('Unexpected lexicon type: record')",
        "lexicon §union: 'The schema definitions pointed to by a union must have type object or record.'",
        True,
        lambda m, err, rec: "Unexpected lexicon type: record" in (err or ""),
    ),
    Known(
        "ts-default-fills-required",
        "@atproto/lexicon",
        "accepts a record missing a required field that has a default (it fills the default in)",
        "lexicon §object: 'required (array of strings, optional): indicates which properties are required'; "
        "§string: 'default ... a default value for this field'. The spec never says a default satisfies "
        "'required'; atcheck keeps them apart (open question, see the report).",
        True,
        lambda m, err, rec: m is not None and m.constraint == "required" and m.has_default,
    ),
    Known(
        "ts-array-as-object",
        "@atproto/lexicon",
        "accepts an array where an object is required (typeof [] === 'object')",
        "data-model §Data Types: array and map (object) are distinct types; lexicon §object describes a map.",
        True,
        lambda m, err, rec: (
            m is not None and m.constraint == "type" and m.detail.startswith("object replaced")
        ),
    ),
    Known(
        "lexrpc-record-type-unchecked",
        "lexrpc",
        "does not check the record's own $type (validate() is told the NSID)",
        "lexicon §When to use $type: 'record objects must always include $type'; "
        "data-model: $type, when present, is a non-empty string.",
        True,
        lambda m, err, rec: m is not None and m.path == "$.$type",
    ),
    Known(
        "lexrpc-cid-v0",
        "lexrpc",
        "accepts a CIDv0 ('Qm...') in a cid-format string",
        "official vector syntax/cid_syntax_invalid.txt lists "
        "'QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR'; data-model §Link and CID Formats: CIDv1 only.",
        True,
        lambda m, err, rec: m is not None and m.constraint == "format" and "CIDv0" in m.detail,
    ),
    Known(
        "lexrpc-datetime-negative-zero",
        "lexrpc",
        "accepts the '-00:00' timezone",
        "lexicon §datetime: 'negative zero (-00:00) is specifically disallowed (by ISO 8601)'; "
        "official vector syntax/datetime_syntax_invalid.txt lists 1985-04-12T23:20:50.123-00:00.",
        True,
        lambda m, err, rec: (
            m is not None and m.constraint == "format" and "'-00:00' is not allowed" in m.detail
        ),
    ),
    Known(
        "lexrpc-did-trailing-percent",
        "lexrpc",
        "accepts a DID ending in '%'",
        "did §Syntax: the identifier may not end in ':' or '%' (SYN-DID-01); official vector "
        "syntax/did_syntax_invalid.txt lists 'did:method:val%'.",
        True,
        lambda m, err, rec: m is not None and m.constraint == "format" and "may not end in '%'" in m.detail,
    ),
    Known(
        "lexrpc-at-uri-case",
        "lexrpc",
        "rejects at-uris whose handle authority has uppercase letters",
        "handle §Syntax: labels are ASCII letters, digits and hyphens, and handles are case-insensitive "
        "(SYN-HDL-01/04); at-uri §Structure: the authority is a handle or a DID.",
        True,
        _at_uri_uppercase_authority,
    ),
    Known(
        "lexrpc-ref-to-string",
        "lexrpc",
        "treats a ref to a string def (with knownValues) as a token, demanding the ref's name as the value",
        "lexicon §ref: refs reuse definitions 'for types like object or a string with specific "
        "restrictions'; "
        "§string: knownValues 'Values are not limited to this set (aka, not a closed enum)'.",
        True,
        lambda m, err, rec: (
            m is None and re.search(r"ref \w+ with value .*: is not \S+$", err or "") is not None
        ),
    ),
]
KNOWN: dict[str, Known] = {k.id: k for k in _ALL}


def classify(
    validator: str, mutation: Mutation | None, error: str | None, record: dict[str, Any]
) -> Known | None:
    """The known disagreement class this case falls in, or None (unexplained)."""
    for known in _ALL:
        if known.validator == validator and known.matches(mutation, error, record):
            return known
    return None


VECTOR_CASES: dict[tuple[str, str], str] = {
    ("@atproto/lexicon", "blob too large"): "ts-blob-constraints",
    ("@atproto/lexicon", "blob wrong type"): "ts-blob-constraints",
    ("lexrpc", "full"): "lexrpc-bytes-json",
    ("lexrpc", "invalid blob: wrong type"): "lexrpc-blob-constraints",
    ("lexrpc", "blob too large"): "lexrpc-blob-constraints",
    ("lexrpc", "blob wrong type"): "lexrpc-blob-constraints",
}
"""Official record-data vectors on which a reference validator disagrees with the vector, and why."""


@dataclass(frozen=True)
class KnownLint:
    """A Lexicon *document* on which @atproto/lexicon's parseLexiconDoc and ``atcheck schema lint`` differ."""

    id: str
    summary: str
    decided_by: str
    atcheck_right: bool


LINT_CASES: dict[str, KnownLint] = {
    "defined unknown": KnownLint(
        "ts-lint-defined-unknown",
        "@atproto/lexicon accepts a named def of type unknown "
        "(official vector lexicon-invalid 'defined unknown')",
        "lexicon §unknown: '`unknown` types can not be declared as top-level named types "
        "in a schema `defs` array.'",
        True,
    ),
    "social.grain.unspecced.searchActorsTypeahead": KnownLint(
        "ts-lint-inline-object-in-array",
        "@atproto/lexicon refuses an inline object as array items (its zod schema lists no object there)",
        "lexicon §array: 'items (object, required): describes the schema elements of this array' - "
        "no type is "
        "excluded; atcheck accepts (spec silent, so the stricter reading is not enforced).",
        True,
    ),
}
"""Documents (vector names or NSIDs) on which the two document checks disagree, and why."""
