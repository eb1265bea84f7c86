"""Look up and validate against the generated Lexicon schemas.

Suites call :func:`lexicon_schema` for a self-contained JSON Schema (every Lexicon it refers to is copied
into ``$defs/<nsid>`` and refs become local JSON pointers, so any 2020-12 validator can use it, quickly) and
:func:`validate` for readable errors with atcheck's exact keywords and formats. The default registry reads
the committed ``schemas/lexicons/`` (built from the pinned lexrpc wheel); :meth:`SchemaRegistry.from_lexicons`
builds one from any Lexicon set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from atcheck.errors import SetupError, UsageError
from atcheck.paths import project_root
from atcheck.schema.convert import DIALECT, PARTS, Schema, convert_document, part_def_name
from atcheck.schema.document import LexiconError, resolve_ref, schema_uri
from atcheck.schema.keywords import LexiconValidator, format_checker
from atcheck.schema.sources import LexiconSet

INDEX_FILE = "index.json"


def schemas_dir() -> Path:
    """Where the committed generated schemas live."""
    return project_root() / "schemas" / "lexicons"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _local_refs(node: Any) -> Any:
    """A copy of ``node`` whose ``lex:<nsid>#/$defs/<name>`` refs point inside a bundle's ``$defs/<nsid>``.

    Plain JSON pointers into one document are resolved without a registry crawl, which keeps stock
    validators fast on bundles with dozens of embedded Lexicons.
    """
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("lex:"):
                nsid, name = _split_ref(value)
                out[key] = f"#/$defs/{nsid}/$defs/{name}"
            else:
                out[key] = _local_refs(value)
        return out
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def _split_ref(ref: str) -> tuple[str, str]:
    """``lex:<nsid>#/$defs/<name>`` -> ``(nsid, name)``."""
    uri, _, pointer = ref.partition("#")
    return uri.removeprefix("lex:"), pointer.removeprefix("/$defs/")


_EXACT_LENGTH = ("x-lexMinBytes", "x-lexMaxBytes", "x-lexMinGraphemes", "x-lexMaxGraphemes")


def _redundant(error: ValidationError) -> bool:
    """A code-point length error next to the exact x-lex keyword that also fired (or passed) is noise."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    return error.validator in ("minLength", "maxLength") and any(k in schema for k in _EXACT_LENGTH)


def _describe(error: ValidationError) -> str:
    """One readable line: where in the instance, and what is wrong there (drilling into anyOf branches)."""
    while error.context:
        deepest = best_match(error.context)
        if deepest is None:
            break
        error = deepest
    message = error.message
    if error.validator == "format" and error.cause is not None:
        message = str(error.cause)
    elif error.validator == "not" and isinstance(error.schema, dict) and error.schema.get("x-lexDataModel"):
        message = "an unknown value must be a plain object, not a $link, $bytes or blob"
    return f"{error.json_path}: {message}"


class SchemaRegistry:
    """A set of generated Lexicon schema resources keyed by NSID, with bundling and cached validators."""

    def __init__(self, resources: Mapping[str, Schema], provenance: Mapping[str, str]) -> None:
        self.resources = dict(resources)
        self.provenance = dict(provenance)
        self._deps: dict[str, frozenset[str]] = {
            nsid: frozenset(_split_ref(ref)[0] for ref in _refs(res)) for nsid, res in self.resources.items()
        }
        self._validators: dict[tuple[str, str], Any] = {}
        self._crawled: Registry[Any] | None = None

    # -- construction --------------------------------------------------------------------------------------

    @classmethod
    def from_lexicons(cls, lexicons: LexiconSet) -> SchemaRegistry:
        """Convert every document; a ref to a missing Lexicon or def is reported with file and path."""
        resources = {
            nsid: convert_document(doc, lexicons.provenance) for nsid, doc in lexicons.documents.items()
        }
        registry = cls(resources, lexicons.provenance)
        registry.check_refs(lexicons)
        return registry

    @classmethod
    def from_directory(cls, path: Path) -> SchemaRegistry:
        index_path = path / INDEX_FILE
        if not index_path.is_file():
            raise SetupError(f"no generated Lexicon schemas at {path}", hint="run `atcheck schema build`")
        index = json.loads(index_path.read_text(encoding="utf-8"))
        resources = {
            nsid: json.loads((path / entry["file"]).read_text(encoding="utf-8"))
            for nsid, entry in index["lexicons"].items()
        }
        return cls(resources, index["x-atcheck"])

    def check_refs(self, lexicons: LexiconSet | None = None) -> None:
        for nsid, res in self.resources.items():
            for ref in _refs(res):
                target, name = _split_ref(ref)
                if target not in self.resources or name not in self.resources[target]["$defs"]:
                    origin = lexicons.documents[nsid].origin if lexicons else schema_uri(nsid)
                    raise LexiconError(origin, "$.defs", f"ref to {target}#{name} does not resolve")

    # -- lookup --------------------------------------------------------------------------------------------

    def resource(self, nsid: str) -> Schema:
        try:
            return self.resources[nsid]
        except KeyError:
            raise UsageError(f"unknown Lexicon NSID {nsid!r}") from None

    def closure(self, nsid: str) -> list[str]:
        """``nsid`` and every Lexicon it refers to, transitively (sorted, for stable bundles)."""
        seen = {nsid}
        todo = [nsid]
        while todo:
            for dep in self._deps.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return sorted(seen)

    def def_name(self, nsid: str, part: str) -> str:
        if part not in PARTS:
            raise UsageError(f"unknown schema part {part!r}; expected one of {', '.join(PARTS)}")
        res = self.resource(nsid)
        primary = res.get("x-lexPrimaryType")
        if part == "record" and primary != "record":
            raise UsageError(f"{nsid} is a {primary or 'definitions'} Lexicon, not a record")
        name = part_def_name(primary, part)
        if name not in res["$defs"]:
            main = res["$defs"].get("main", {})
            encoding = main.get(f"x-lex{part.title()}Encoding")
            why = f" (its {part} is {encoding}, not described by a schema)" if encoding else ""
            raise UsageError(f"{nsid} has no {part} schema{why}")
        return name

    def bundle(self, nsid: str, name: str, label: str) -> Schema:
        """A self-contained schema for def ``name`` of ``nsid``: its Lexicon closure embedded in ``$defs``."""
        res = self.resource(nsid)
        if name not in res["$defs"]:
            raise UsageError(f"{nsid} has no def {name!r}")
        embedded = {}
        for dep in self.closure(nsid):
            body = {k: v for k, v in self.resources[dep].items() if k not in ("$schema", "$id", "x-atcheck")}
            embedded[dep] = _local_refs(body)
        return {
            "$schema": DIALECT,
            "$id": f"urn:atcheck:lexicon:{nsid}:{label}",
            "$ref": f"#/$defs/{nsid}/$defs/{name}",
            "x-atcheck": self.provenance,
            "$defs": embedded,
        }

    def lexicon_schema(self, nsid: str, part: str) -> Schema:
        return self.bundle(nsid, self.def_name(nsid, part), part)

    def ref_schema(self, ref: str) -> Schema:
        """Schema for a Lexicon ref (``nsid#name`` or ``nsid``), e.g. one subscription message variant."""
        nsid, name = resolve_ref("", ref)
        if not nsid:
            raise UsageError(f"ref {ref!r} must be fully qualified (nsid#name)")
        return self.bundle(nsid, name, name)

    # -- validation ----------------------------------------------------------------------------------------

    def _ref_registry(self) -> Registry[Any]:
        """Every resource, pre-crawled: validating through it avoids re-walking a bundle on each ``$ref``."""
        if self._crawled is None:
            self._crawled = (
                Registry()
                .with_resources(
                    (schema_uri(nsid), Resource.from_contents(res, default_specification=DRAFT202012))
                    for nsid, res in self.resources.items()
                )
                .crawl()
            )
        return self._crawled

    def _validator(self, nsid: str, name: str) -> Any:
        cached = self._validators.get((nsid, name))
        if cached is None:
            if name not in self.resource(nsid)["$defs"]:
                raise UsageError(f"{nsid} has no def {name!r}")
            schema = {"$schema": DIALECT, "$ref": f"lex:{nsid}#/$defs/{name}"}
            cached = LexiconValidator(schema, registry=self._ref_registry(), format_checker=format_checker())
            self._validators[(nsid, name)] = cached
        return cached

    def errors(self, instance: Any, nsid: str, part: str) -> list[str]:
        """Readable reasons why ``instance`` is not valid ``part`` of ``nsid``; empty when it is valid."""
        return self._collect(self._validator(nsid, self.def_name(nsid, part)), instance)

    def is_valid(self, instance: Any, nsid: str, part: str) -> bool:
        return bool(self._validator(nsid, self.def_name(nsid, part)).is_valid(instance))

    def ref_errors(self, instance: Any, ref: str) -> list[str]:
        nsid, name = resolve_ref("", ref)
        return self._collect(self._validator(nsid, name), instance)

    def record_errors(self, record: Any) -> list[str]:
        """Validate a record by its own ``$type`` (which must name a record Lexicon in this registry)."""
        if not isinstance(record, dict):
            return ["$: a record must be a JSON object"]
        rtype = record.get("$type")
        if not isinstance(rtype, str) or not rtype:
            return ["$.$type: a record needs a non-empty string $type"]
        if rtype not in self.resources:
            return [f"$.$type: no Lexicon for {rtype!r}"]
        if self.resources[rtype].get("x-lexPrimaryType") != "record":
            return [f"$.$type: {rtype} is not a record Lexicon"]
        return self.errors(record, rtype, "record")

    @staticmethod
    def _collect(validator: Any, instance: Any) -> list[str]:
        errors = sorted(
            validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message)
        )
        lines = [_describe(e) for e in errors if not _redundant(e)]
        return list(dict.fromkeys(lines))

    def record_types(self) -> list[str]:
        return [nsid for nsid, res in self.resources.items() if res.get("x-lexPrimaryType") == "record"]


@cache
def default_registry() -> SchemaRegistry:
    """The committed schemas (generated from the pinned default Lexicon source)."""
    return SchemaRegistry.from_directory(schemas_dir())


def lexicon_schema(nsid: str, part: str) -> dict[str, Any]:
    """Self-contained JSON Schema 2020-12 for ``part`` (record/params/input/output/message) of ``nsid``."""
    return default_registry().lexicon_schema(nsid, part)


def validate(instance: Any, nsid: str, part: str) -> list[str]:
    """Readable errors (``<json path>: <problem>``) for ``instance`` as ``part`` of ``nsid``; [] if valid."""
    return default_registry().errors(instance, nsid, part)


def message_schema(nsid: str, t: str) -> dict[str, Any]:
    """Schema of one subscription message variant, chosen by the frame header's ``t`` (``#commit``...).

    Payloads carry no ``$type`` (the header names the variant), so this is the variant's object schema.
    """
    if not t.startswith("#"):
        raise UsageError(f"frame header t {t!r} must be '#<name>' (event-stream §Framing)")
    return default_registry().ref_schema(f"{nsid}{t}")


def validate_message(payload: Any, nsid: str, t: str) -> list[str]:
    """Readable errors for a subscription payload whose frame header says ``t``; [] if valid."""
    if not t.startswith("#"):
        raise UsageError(f"frame header t {t!r} must be '#<name>' (event-stream §Framing)")
    return default_registry().ref_errors(payload, f"{nsid}{t}")
