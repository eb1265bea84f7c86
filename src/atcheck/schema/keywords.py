"""The ``x-lex*`` keywords: Lexicon constraints that JSON Schema 2020-12 cannot state, enforced by atcheck.

Generated schemas pair each of these with the nearest *necessary* standard keyword, so a stock validator
accepts a superset of what the Lexicon allows and atcheck's validator (:data:`LexiconValidator`) is exact:

================================  ========================================================================
keyword                           meaning (why JSON Schema cannot say it)
================================  ========================================================================
``x-lexMaxBytes`` / ``MinBytes``  string length in UTF-8 bytes (``maxLength`` counts code points)
``x-lexMaxGraphemes`` / ``Min``   extended grapheme clusters, UAX #29, counted with ``regex``'s ``\\X``
``x-lexMax/MinDecodedBytes``      length of the decoded ``$bytes`` value (base64 padding is optional)
``x-lexDataModel``                every nested value of an ``unknown`` is atproto data model: no floats,
                                  well-formed ``$link``/``$bytes``/blob objects, ``$type`` a non-empty string
``integer`` type                  a JSON number with a fraction (``1.0``) is a float, which atproto forbids
``format``                        the atproto formats, checked by :mod:`atcheck.syntax` (the reason is kept)
================================  ========================================================================

Still outside any schema (checked elsewhere or by the caller): that a record's ``$type`` equals the collection
of its repo path and that its rkey matches ``x-lexRecordKey``; that a blob exists; query-string decoding of
params; subscription frame headers; Lexicon evolution (:mod:`atcheck.schema.diff`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import jsonschema
import regex
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator

from atcheck import syntax

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(s: str) -> int:
    """Extended grapheme clusters in ``s`` (UAX #29), the unit of ``maxGraphemes``."""
    return sum(1 for _ in _GRAPHEME.finditer(s))


def utf8_length(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def decoded_length(b64: str) -> int | None:
    """Byte length of a standard base64 string (padding optional), or None when it is not base64."""
    stripped = b64.rstrip("=")
    if len(stripped) % 4 == 1:
        return None
    try:
        return len(base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None


def _bound(kind: str, measure: str, compare: Any) -> Any:
    def check(
        validator: Validator, limit: int, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if not isinstance(instance, str):
            return
        value = {
            "bytes": utf8_length,
            "graphemes": grapheme_count,
            "decoded": decoded_length,
        }[measure](instance)
        if value is None:
            yield ValidationError(f"{instance!r} is not valid base64")
        elif not compare(value, limit):
            yield ValidationError(f"{instance[:40]!r} has {value} {kind}, limit {limit}")

    return check


def _is_strict_int(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def data_model_errors(value: Any, path: str = "$") -> Iterator[str]:
    """Why ``value`` is not valid atproto data model (used for ``unknown`` contents); empty when it is."""
    if isinstance(value, float):
        yield f"{path}: floats are not allowed in the atproto data model"
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from data_model_errors(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        if "$link" in value:
            if (
                len(value) != 1
                or not isinstance(value["$link"], str)
                or not syntax.is_valid_cid(value["$link"])
            ):
                yield f"{path}: a $link object must be exactly {{'$link': <cid string>}}"
            return
        if "$bytes" in value:
            if (
                len(value) != 1
                or not isinstance(value["$bytes"], str)
                or decoded_length(value["$bytes"]) is None
            ):
                yield f"{path}: a $bytes object must be exactly {{'$bytes': <base64 string>}}"
            return
        if "$type" in value and (not isinstance(value["$type"], str) or not value["$type"]):
            yield f"{path}: $type must be a non-empty string"
        if value.get("$type") == "blob":
            ok = (
                isinstance(value.get("ref"), dict)
                and isinstance(value.get("mimeType"), str)
                and _is_strict_int(None, value.get("size"))
            )
            if not ok:
                yield f"{path}: a blob needs ref, mimeType (string) and size (integer)"
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                yield f"{path}: map keys must be non-empty strings"
            yield from data_model_errors(item, f"{path}.{key}")


def _data_model(
    validator: Validator, enabled: bool, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if enabled:
        for problem in data_model_errors(instance):
            yield ValidationError(problem)


@cache
def format_checker() -> jsonschema.FormatChecker:
    """A FormatChecker for the Lexicon format names that keeps :mod:`atcheck.syntax`'s reason in the error."""
    checker = jsonschema.FormatChecker(formats=())
    for name, check in syntax.CHECKS.items():

        def wrapped(instance: object, _check: Any = check) -> bool:
            if isinstance(instance, str):
                _check(instance)
            return True

        checker.checks(name, raises=syntax.SyntaxViolation)(wrapped)
    return checker


_type_checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_int)

LexiconValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={
        "x-lexMaxBytes": _bound("UTF-8 bytes", "bytes", lambda v, lim: v <= lim),
        "x-lexMinBytes": _bound("UTF-8 bytes", "bytes", lambda v, lim: v >= lim),
        "x-lexMaxGraphemes": _bound("graphemes", "graphemes", lambda v, lim: v <= lim),
        "x-lexMinGraphemes": _bound("graphemes", "graphemes", lambda v, lim: v >= lim),
        "x-lexMaxDecodedBytes": _bound("decoded bytes", "decoded", lambda v, lim: v <= lim),
        "x-lexMinDecodedBytes": _bound("decoded bytes", "decoded", lambda v, lim: v >= lim),
        "x-lexDataModel": _data_model,
    },
    type_checker=_type_checker,
)
"""Draft 2020-12 plus the ``x-lex*`` keywords and the strict integer type; pass :func:`format_checker`."""
