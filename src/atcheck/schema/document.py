"""One Lexicon document, its origin, and the reference grammar shared by the converter, linter and differ.

A Lexicon ``ref`` is written three ways (``#name``, ``nsid``, ``nsid#name``) and a ``$type`` in data a fourth
way (``nsid`` for ``main``, ``nsid#name`` otherwise). Every module that compares or resolves refs goes through
:func:`resolve_ref` and :func:`type_string` so that the forms can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from atcheck.errors import UsageError

JSON = Any
"""A decoded JSON value (the stdlib ``json`` module's output)."""

PRIMARY_TYPES = frozenset({"record", "query", "procedure", "subscription", "permission-set"})
FIELD_TYPES = frozenset(
    {
        "null",
        "boolean",
        "integer",
        "string",
        "bytes",
        "cid-link",
        "blob",
        "array",
        "object",
        "params",
        "token",
        "ref",
        "union",
        "unknown",
        "permission",
    }
)
EXPERIMENTAL_TYPES = frozenset({"space"})
"""Primary types found in the wild but not in the Lexicon spec (``space``: the permissioned-spaces proposal).
They are carried as annotations only and flagged by the linter."""
ALL_TYPES = PRIMARY_TYPES | FIELD_TYPES | EXPERIMENTAL_TYPES
NOT_NAMED_DEFS = frozenset({"ref", "union", "unknown", "params", "permission"})
"""Types that may appear inline but never as a named def (LEX-FILE-03)."""


class LexiconError(UsageError):
    """A Lexicon document is malformed or refers to something that does not exist.

    The message always names the file (or other origin) and the JSON path inside it, because a maintainer
    fixing a 600-file tree needs the place, not a traceback.
    """

    def __init__(self, origin: str, path: str, problem: str) -> None:
        super().__init__(f"{origin}: {path}: {problem}")
        self.origin = origin
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class LexiconDocument:
    """A parsed Lexicon file: its NSID, raw JSON and where it came from (for messages and provenance)."""

    nsid: str
    raw: Mapping[str, JSON]
    origin: str
    defs: Mapping[str, Mapping[str, JSON]] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "defs", self.raw["defs"])

    @property
    def main_type(self) -> str | None:
        main = self.defs.get("main")
        kind = main.get("type") if isinstance(main, Mapping) else None
        return kind if isinstance(kind, str) else None


def parse_document(raw: JSON, origin: str) -> LexiconDocument:
    """Check the document envelope (LEX-FILE-01) just enough to index it; :mod:`lint` does the rest."""
    if not isinstance(raw, dict):
        raise LexiconError(origin, "$", "a Lexicon document must be a JSON object")
    if raw.get("lexicon") != 1 or isinstance(raw.get("lexicon"), bool):
        raise LexiconError(origin, "$.lexicon", f"must be the integer 1, got {raw.get('lexicon')!r}")
    nsid = raw.get("id")
    if not isinstance(nsid, str) or not nsid:
        raise LexiconError(origin, "$.id", f"must be an NSID string, got {nsid!r}")
    defs = raw.get("defs")
    if not isinstance(defs, dict) or not defs:
        raise LexiconError(origin, "$.defs", "must be an object with at least one def")
    for name, body in defs.items():
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise LexiconError(origin, f"$.defs.{name}", "each def must be an object with a string 'type'")
    return LexiconDocument(nsid=nsid, raw=raw, origin=origin)


def resolve_ref(base_nsid: str, ref: str) -> tuple[str, str]:
    """``(nsid, def name)`` for a ref written in document ``base_nsid``; a bare NSID means its ``main``."""
    if ref.startswith("#"):
        return base_nsid, ref[1:]
    nsid, sep, name = ref.partition("#")
    return nsid, (name if sep else "main")


def type_string(nsid: str, name: str) -> str:
    """The ``$type`` value that data carries for def ``name`` of ``nsid`` (never ``nsid#main``)."""
    return nsid if name == "main" else f"{nsid}#{name}"


def schema_uri(nsid: str) -> str:
    """The JSON Schema ``$id`` of a Lexicon document's schema resource."""
    return f"lex:{nsid}"


def def_pointer(nsid: str, name: str) -> str:
    """A JSON Schema reference to def ``name`` (or a part such as ``main.output``) of ``nsid``."""
    return f"lex:{nsid}#/$defs/{name}"
