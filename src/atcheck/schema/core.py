"""Hand-written JSON Schemas for core structures that no Lexicon describes.

Signed commit, MST node, event-stream frame header, DID document (atproto profile), PLC operation, label and
service-auth JWT, under ``schemas/core/``. Each schema's ``description`` says which spec section it follows
and what it leaves to code (signatures, CBOR byte rules, first-match selection...).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from atcheck.errors import UsageError
from atcheck.paths import project_root
from atcheck.schema.keywords import LexiconValidator, format_checker

CORE = ("commit", "mst-node", "firehose-frame", "did-document", "plc-operation", "label", "service-auth-jwt")


def core_dir() -> Path:
    return project_root() / "schemas" / "core"


@cache
def core_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/core/<name>.schema.json`` (name one of :data:`CORE`)."""
    if name not in CORE:
        raise UsageError(f"unknown core schema {name!r}; expected one of {', '.join(CORE)}")
    data: dict[str, Any] = json.loads((core_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    return data


def core_errors(instance: Any, name: str, definition: str | None = None) -> list[str]:
    """Readable errors for ``instance`` against core schema ``name`` (or one of its ``$defs``)."""
    schema = core_schema(name)
    if definition is not None:
        if definition not in schema.get("$defs", {}):
            raise UsageError(f"core schema {name} has no definition {definition!r}")
        schema = {**schema, "$ref": f"#/$defs/{definition}"}
        for key in ("required", "properties", "oneOf", "if", "then", "type", "additionalProperties"):
            schema.pop(key, None)
    validator = LexiconValidator(schema, format_checker=format_checker())
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]
