"""Lexicon document -> JSON Schema 2020-12 resource.

Layout of one generated resource (``schemas/lexicons/<nsid>.json``)::

    {"$schema": ..., "$id": "lex:<nsid>", "x-atcheck": {provenance}, "$defs": {<def name>: schema, ...}}

Each Lexicon def becomes ``$defs/<name>``. A primary def's parts get their own entries so that they can be
referenced directly: ``main`` (a record's data), ``main.params``, ``main.input``, ``main.output`` and
``main.message``. Refs become ``lex:<nsid>#/$defs/<name>`` JSON pointers, resolved through the registry.

Mapping decisions (see /work/shared/design/requirements-draft.md section A):

- objects never get ``additionalProperties: false``: unknown fields must be tolerated (LEX-VAL-16);
  ``nullable`` properties become ``anyOf [S, null]``;
- unions are discriminated by ``$type`` with one ``if``/``then`` per ref, not ``oneOf`` (an open union must
  accept an unknown ``$type``); a closed union adds an ``enum`` on ``$type``; ref strings are normalised to
  the ``$type`` form (``nsid`` for ``main``, never ``nsid#main``);
- ``knownValues`` is an annotation (``x-lexKnownValues``), never an ``enum``;
- string formats use the Lexicon format names (``at-uri``, ``record-key``...) with atcheck's format checker;
- subscription messages omit ``$type`` at the top level (the frame header carries it), so ``main.message``
  discriminates by ``$type`` when present and otherwise requires one variant to match.

What JSON Schema cannot express is carried by ``x-lex*`` keywords enforced in :mod:`atcheck.schema.keywords`
(the standard keywords next to them are the closest necessary approximation, so a plain 2020-12 validator is
never stricter than the Lexicon, only looser).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from atcheck.schema.document import (
    ALL_TYPES,
    EXPERIMENTAL_TYPES,
    JSON,
    NOT_NAMED_DEFS,
    LexiconDocument,
    LexiconError,
    def_pointer,
    resolve_ref,
    schema_uri,
    type_string,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
GENERATOR = "atcheck.schema.convert/1"
PARTS = ("record", "params", "input", "output", "message")

Schema = dict[str, Any]


class _Converter:
    """Converts one document; carries its NSID (for local refs) and origin (for error messages)."""

    def __init__(self, doc: LexiconDocument) -> None:
        self.doc = doc
        self.nsid = doc.nsid

    def fail(self, path: str, problem: str) -> LexiconError:
        return LexiconError(self.doc.origin, path, problem)

    # -- helpers -------------------------------------------------------------------------------------------

    def ref_pointer(self, ref: JSON, path: str) -> str:
        if not isinstance(ref, str) or not ref or ref == "#":
            raise self.fail(path, f"a ref must be a non-empty string, got {ref!r}")
        nsid, name = resolve_ref(self.nsid, ref)
        return def_pointer(nsid, name)

    def ref_type(self, ref: str) -> str:
        return type_string(*resolve_ref(self.nsid, ref))

    @staticmethod
    def annotate(out: Schema, node: Mapping[str, JSON], *keys: str) -> None:
        for key in keys:
            if key in node:
                out[key] = node[key]

    def int_field(self, node: Mapping[str, JSON], key: str, path: str) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{path}.{key}", f"must be a non-negative integer, got {value!r}")
        return value

    # -- field types ---------------------------------------------------------------------------------------

    def field(self, node: JSON, path: str) -> Schema:
        if not isinstance(node, dict):
            raise self.fail(path, "a type definition must be an object")
        kind = node.get("type")
        if kind not in ALL_TYPES:
            raise self.fail(f"{path}.type", f"unknown Lexicon type {kind!r}")
        method = getattr(self, "t_" + str(kind).replace("-", "_"), None)
        if method is None:
            raise self.fail(f"{path}.type", f"type {kind!r} is not allowed here")
        out: Schema = method(node, path)
        if isinstance(node.get("description"), str):
            out.setdefault("description", node["description"])
        return out

    def t_null(self, node: Mapping[str, JSON], path: str) -> Schema:
        return {"type": "null"}

    def t_boolean(self, node: Mapping[str, JSON], path: str) -> Schema:
        out: Schema = {"type": "boolean"}
        self.annotate(out, node, "const", "default")
        return out

    def t_integer(self, node: Mapping[str, JSON], path: str) -> Schema:
        out: Schema = {"type": "integer"}
        self.annotate(out, node, "minimum", "maximum", "enum", "const", "default")
        return out

    def t_string(self, node: Mapping[str, JSON], path: str) -> Schema:
        out: Schema = {"type": "string"}
        fmt = node.get("format")
        if fmt is not None:
            out["format"] = fmt
        max_bytes = self.int_field(node, "maxLength", path)
        min_bytes = self.int_field(node, "minLength", path)
        max_graphemes = self.int_field(node, "maxGraphemes", path)
        min_graphemes = self.int_field(node, "minGraphemes", path)
        # Code points <= UTF-8 bytes <= 4 * code points, and graphemes <= code points: so these standard
        # bounds are necessary conditions; the x-lex keywords make them exact.
        if max_bytes is not None:
            out["maxLength"] = max_bytes
            out["x-lexMaxBytes"] = max_bytes
        lower = max(math.ceil(min_bytes / 4) if min_bytes else 0, min_graphemes or 0)
        if lower:
            out["minLength"] = lower
        if min_bytes is not None:
            out["x-lexMinBytes"] = min_bytes
        if max_graphemes is not None:
            out["x-lexMaxGraphemes"] = max_graphemes
        if min_graphemes is not None:
            out["x-lexMinGraphemes"] = min_graphemes
        self.annotate(out, node, "enum", "const", "default")
        if "knownValues" in node:
            out["x-lexKnownValues"] = node["knownValues"]
        return out

    def t_bytes(self, node: Mapping[str, JSON], path: str) -> Schema:
        inner: Schema = {"type": "string", "pattern": "^[A-Za-z0-9+/]*={0,2}$", "contentEncoding": "base64"}
        max_len = self.int_field(node, "maxLength", path)
        min_len = self.int_field(node, "minLength", path)
        if max_len is not None:
            inner["x-lexMaxDecodedBytes"] = max_len
        if min_len is not None:
            inner["x-lexMinDecodedBytes"] = min_len
        return {
            "type": "object",
            "required": ["$bytes"],
            "additionalProperties": False,
            "properties": {"$bytes": inner},
        }

    @staticmethod
    def cid_link() -> Schema:
        return {
            "type": "object",
            "required": ["$link"],
            "additionalProperties": False,
            "properties": {"$link": {"type": "string", "format": "cid"}},
        }

    def t_cid_link(self, node: Mapping[str, JSON], path: str) -> Schema:
        return self.cid_link()

    def t_blob(self, node: Mapping[str, JSON], path: str) -> Schema:
        mime: Schema = {"type": "string", "minLength": 1}
        accept = node.get("accept")
        if accept is not None:
            if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
                raise self.fail(f"{path}.accept", "must be a list of MIME type strings")
            if "*/*" not in accept:
                mime["anyOf"] = [self.mime_pattern(a) for a in accept]
        size: Schema = {"type": "integer", "minimum": 0}
        max_size = self.int_field(node, "maxSize", path)
        if max_size is not None:
            size["maximum"] = max_size
        return {
            "type": "object",
            "required": ["$type", "ref", "mimeType", "size"],
            "properties": {
                "$type": {"const": "blob"},
                "ref": self.cid_link(),
                "mimeType": mime,
                "size": size,
            },
        }

    @staticmethod
    def mime_pattern(accept: str) -> Schema:
        if accept.endswith("/*"):
            prefix = accept[:-2].replace(".", "\\.").replace("+", "\\+")
            return {"pattern": f"^{prefix}/[^/]+$"}
        return {"const": accept}

    def t_array(self, node: Mapping[str, JSON], path: str) -> Schema:
        if "items" not in node:
            raise self.fail(path, "an array needs 'items'")
        out: Schema = {"type": "array", "items": self.field(node["items"], f"{path}.items")}
        max_len = self.int_field(node, "maxLength", path)
        min_len = self.int_field(node, "minLength", path)
        if max_len is not None:
            out["maxItems"] = max_len
        if min_len is not None:
            out["minItems"] = min_len
        return out

    def properties(self, node: Mapping[str, JSON], path: str, *, allow_nullable: bool) -> Schema:
        props = node.get("properties", {})
        if not isinstance(props, dict):
            raise self.fail(f"{path}.properties", "must be an object")
        required = node.get("required", [])
        nullable = node.get("nullable", []) if allow_nullable else []
        for key, value in (("required", required), ("nullable", nullable)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(f"{path}.{key}", "must be a list of property names")
        out_props: Schema = {}
        for name, sub in props.items():
            schema = self.field(sub, f"{path}.properties.{name}")
            if name in nullable:
                schema = {"anyOf": [schema, {"type": "null"}]}
            out_props[name] = schema
        out: Schema = {"type": "object", "properties": out_props}
        if required:
            out["required"] = list(required)
        return out

    def t_object(self, node: Mapping[str, JSON], path: str) -> Schema:
        return self.properties(node, path, allow_nullable=True)

    def t_params(self, node: Mapping[str, JSON], path: str) -> Schema:
        out = self.properties(node, path, allow_nullable=False)
        out["x-lexParams"] = True
        return out

    def t_token(self, node: Mapping[str, JSON], path: str) -> Schema:
        raise self.fail(path, "a token can only be a named def, not a field type")

    def t_ref(self, node: Mapping[str, JSON], path: str) -> Schema:
        return {"$ref": self.ref_pointer(node.get("ref"), f"{path}.ref")}

    def t_union(self, node: Mapping[str, JSON], path: str) -> Schema:
        refs = node.get("refs")
        if not isinstance(refs, list):
            raise self.fail(f"{path}.refs", "a union needs a list of refs")
        branches = []
        types: list[str] = []
        for i, ref in enumerate(refs):
            pointer = self.ref_pointer(ref, f"{path}.refs[{i}]")
            tstr = self.ref_type(ref)
            types.append(tstr)
            branches.append({"if": {"properties": {"$type": {"const": tstr}}}, "then": {"$ref": pointer}})
        # lexicon §Lexicon Files: in $type, a main def is the bare NSID ("use of a #main suffix is invalid").
        type_schema: Schema = {"type": "string", "minLength": 1, "not": {"pattern": "#main$"}}
        closed = node.get("closed") is True
        if closed:
            type_schema["enum"] = types
        out: Schema = {"type": "object", "required": ["$type"], "properties": {"$type": type_schema}}
        if branches:
            out["allOf"] = branches
        out["x-lexUnion"] = {"refs": types, "closed": closed}
        return out

    def t_unknown(self, node: Mapping[str, JSON], path: str) -> Schema:
        return {
            "type": "object",
            "not": {
                "anyOf": [
                    {"required": ["$link"]},
                    {"required": ["$bytes"]},
                    {"required": ["$type"], "properties": {"$type": {"const": "blob"}}},
                ]
            },
            "x-lexDataModel": True,
        }

    def t_permission(self, node: Mapping[str, JSON], path: str) -> Schema:
        # Permissions describe OAuth scopes, not data; they only matter to the linter.
        return {"x-lexType": "permission"}

    # -- named defs ----------------------------------------------------------------------------------------

    def named_def(self, name: str, node: Mapping[str, JSON]) -> dict[str, Schema]:
        """``$defs`` entries for one named def (a primary def yields several, one per part)."""
        path = f"$.defs.{name}"
        kind = node.get("type")
        if kind in NOT_NAMED_DEFS:
            raise self.fail(f"{path}.type", f"a {kind!r} cannot be a named def")
        described: Schema = {}
        if isinstance(node.get("description"), str):
            described["description"] = node["description"]
        if kind == "token":
            return {
                name: {
                    "type": "string",
                    "const": type_string(self.nsid, name),
                    "x-lexToken": True,
                    **described,
                }
            }
        if kind == "record":
            return {name: self.record(name, node, path)}
        if kind in ("query", "procedure", "subscription"):
            return self.method(name, str(kind), node, path)
        if kind == "permission-set" or kind in EXPERIMENTAL_TYPES:
            return {name: {"x-lexType": kind, **described}}
        return {name: self.field(node, path)}

    def record(self, name: str, node: Mapping[str, JSON], path: str) -> Schema:
        body = node.get("record")
        if not isinstance(body, dict) or body.get("type") != "object":
            raise self.fail(f"{path}.record", "a record def needs a 'record' of type object")
        out = self.field(body, f"{path}.record")
        out["properties"] = {"$type": {"const": type_string(self.nsid, name)}, **out["properties"]}
        out["required"] = ["$type", *out.get("required", [])]
        out["x-lexType"] = "record"
        key = node.get("key")
        if not isinstance(key, str):
            raise self.fail(f"{path}.key", "a record def needs a 'key' string")
        out["x-lexRecordKey"] = key
        if isinstance(node.get("description"), str):
            out["description"] = node["description"]
        return out

    def method(self, name: str, kind: str, node: Mapping[str, JSON], path: str) -> dict[str, Schema]:
        summary: Schema = {"x-lexType": kind, "x-lexParts": []}
        if isinstance(node.get("description"), str):
            summary["description"] = node["description"]
        errors = node.get("errors")
        if isinstance(errors, list):
            summary["x-lexErrors"] = [e.get("name") for e in errors if isinstance(e, dict)]
        out: dict[str, Schema] = {name: summary}
        params = node.get("parameters")
        if params is not None:
            if not isinstance(params, dict) or params.get("type") != "params":
                raise self.fail(f"{path}.parameters", "must be a 'params' definition")
            out[f"{name}.params"] = self.field(params, f"{path}.parameters")
        for part in ("input", "output"):
            body = node.get(part)
            if body is None:
                continue
            if not isinstance(body, dict):
                raise self.fail(f"{path}.{part}", "must be an object")
            encoding = body.get("encoding")
            summary[f"x-lex{part.title()}Encoding"] = encoding
            if "schema" in body:
                schema = self.field(body["schema"], f"{path}.{part}.schema")
                schema["x-lexEncoding"] = encoding
                out[f"{name}.{part}"] = schema
        message = node.get("message")
        if message is not None:
            if not isinstance(message, dict) or not isinstance(message.get("schema"), dict):
                raise self.fail(f"{path}.message", "a subscription message needs a 'schema'")
            union = self.field(message["schema"], f"{path}.message.schema")
            out[f"{name}.message"] = self.message(union)
        summary["x-lexParts"] = [key.split(".", 1)[1] for key in out if "." in key]
        return out

    @staticmethod
    def message(union: Schema) -> Schema:
        """A subscription payload: discriminated by ``$type`` if present, else it must match some variant."""
        if "x-lexUnion" not in union:
            return union
        variants = [branch["then"] for branch in union.get("allOf", [])]
        return {
            "type": "object",
            "if": {"required": ["$type"]},
            "then": union,
            "else": {"anyOf": variants} if variants else {},
            "x-lexUnion": union["x-lexUnion"],
        }

    def document(self, provenance: Mapping[str, str]) -> Schema:
        defs: dict[str, Schema] = {}
        for name, node in self.doc.defs.items():
            defs.update(self.named_def(name, node))
        return {
            "$schema": DIALECT,
            "$id": schema_uri(self.nsid),
            "title": self.nsid,
            **(
                {"description": self.doc.raw["description"]}
                if isinstance(self.doc.raw.get("description"), str)
                else {}
            ),
            "x-atcheck": {"generator": GENERATOR, **provenance},
            "x-lexPrimaryType": self.doc.main_type,
            "$defs": defs,
        }


def convert_document(doc: LexiconDocument, provenance: Mapping[str, str]) -> Schema:
    """The JSON Schema resource for one Lexicon document; :class:`LexiconError` when it is malformed."""
    return _Converter(doc).document(provenance)


def part_def_name(primary_type: str | None, part: str) -> str:
    """Which ``$defs`` entry holds ``part`` of a document's main def."""
    if part == "record":
        return "main"
    return f"main.{part}"
