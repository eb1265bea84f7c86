"""Check Lexicon documents themselves against the Lexicon spec's rules (LEX-FILE-01..13).

The converter only needs a document to be well-formed enough to translate; the linter says everything that is
wrong with it, each problem with its JSON path and the rule it breaks, so a spec maintainer can fix a tree in
one pass. Rules that need the whole set (a ref must resolve, must not target a token, union refs must be
objects or records) are checked when the other documents are given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from atcheck import syntax
from atcheck.schema.document import (
    EXPERIMENTAL_TYPES,
    FIELD_TYPES,
    NOT_NAMED_DEFS,
    PRIMARY_TYPES,
    LexiconDocument,
    resolve_ref,
)

KNOWN_FORMATS = frozenset(syntax.CHECKS)
PARAM_TYPES = frozenset({"boolean", "integer", "string"})
_MIME = re.compile(r"^(\*/\*|[a-zA-Z0-9!#$&^_.+-]+/(\*|[a-zA-Z0-9!#$&^_.+-]+))$")
_VALUE_TYPES: dict[str, tuple[type, ...]] = {"boolean": (bool,), "integer": (int,), "string": (str,)}


@dataclass(frozen=True)
class LintIssue:
    """One problem in one document: where (JSON path), which rule, and what is wrong."""

    path: str
    rule: str
    message: str
    severity: str = "error"

    def render(self) -> str:
        return f"{self.path}: {self.message} [{self.rule}]"


class _Linter:
    def __init__(self, raw: Any, others: Mapping[str, LexiconDocument] | None) -> None:
        self.raw = raw
        self.others = others
        nsid = raw.get("id") if isinstance(raw, dict) else None
        self.nsid: str = nsid if isinstance(nsid, str) else ""
        self.issues: list[LintIssue] = []

    def add(self, path: str, rule: str, message: str, severity: str = "error") -> None:
        self.issues.append(LintIssue(path, rule, message, severity))

    # -- document ------------------------------------------------------------------------------------------

    def run(self) -> list[LintIssue]:
        raw = self.raw
        if not isinstance(raw, dict):
            self.add("$", "LEX-FILE-01", "a Lexicon document must be a JSON object")
            return self.issues
        lexicon = raw.get("lexicon")
        if lexicon != 1 or isinstance(lexicon, bool):
            self.add("$.lexicon", "LEX-FILE-01", f"'lexicon' must be the integer 1, got {lexicon!r}")
        nsid = raw.get("id")
        if not isinstance(nsid, str):
            self.add("$.id", "LEX-FILE-01", f"'id' must be an NSID string, got {nsid!r}")
        elif not syntax.is_valid_nsid(nsid):
            self.add("$.id", "LEX-FILE-01", f"'id' {nsid!r} is not a valid NSID")
        if "description" in raw and not isinstance(raw["description"], str):
            self.add("$.description", "LEX-FILE-01", "'description' must be a string")
        defs = raw.get("defs")
        if not isinstance(defs, dict) or not defs:
            self.add("$.defs", "LEX-FILE-01", "'defs' must be an object with at least one def")
            return self.issues
        for name, node in defs.items():
            self.named_def(name, node, f"$.defs.{name}")
        return self.issues

    def named_def(self, name: str, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            self.add(path, "LEX-FILE-01", "a def must be an object with a string 'type'")
            return
        kind = node["type"]
        if kind in PRIMARY_TYPES or kind in EXPERIMENTAL_TYPES:
            if name != "main":
                self.add(path, "LEX-FILE-02", f"a {kind} def must be named 'main'")
            if kind in EXPERIMENTAL_TYPES:
                self.add(f"{path}.type", "LEX-FILE-01", f"type {kind!r} is not in the Lexicon spec")
                return
            getattr(self, "p_" + kind.replace("-", "_"))(node, path)
            return
        if kind in NOT_NAMED_DEFS:
            self.add(f"{path}.type", "LEX-FILE-03", f"a {kind!r} cannot be a named def")
            return
        if kind == "token":
            return
        self.field(node, path)

    # -- primary types -------------------------------------------------------------------------------------

    def p_record(self, node: Mapping[str, Any], path: str) -> None:
        key = node.get("key")
        if not isinstance(key, str):
            self.add(
                f"{path}.key", "LEX-FILE-04", "a record needs a 'key' (tid, nsid, any or literal:<rkey>)"
            )
        elif key not in ("tid", "nsid", "any") and not (
            key.startswith("literal:") and syntax.is_valid_record_key(key[len("literal:") :])
        ):
            self.add(
                f"{path}.key",
                "LEX-FILE-04",
                f"record key type {key!r} is not tid, nsid, any or literal:<rkey>",
            )
        body = node.get("record")
        if not isinstance(body, dict) or body.get("type") != "object":
            self.add(f"{path}.record", "LEX-FILE-04", "a record's 'record' must be an object definition")
        else:
            self.field(body, f"{path}.record")

    def method_common(self, node: Mapping[str, Any], path: str) -> None:
        params = node.get("parameters")
        if params is not None:
            if not isinstance(params, dict) or params.get("type") != "params":
                self.add(f"{path}.parameters", "LEX-FILE-05", "'parameters' must be a params definition")
            else:
                self.params(params, f"{path}.parameters")
        errors = node.get("errors")
        if errors is not None:
            if not isinstance(errors, list):
                self.add(f"{path}.errors", "LEX-FILE-05", "'errors' must be a list")
            else:
                for i, err in enumerate(errors):
                    ename = err.get("name") if isinstance(err, dict) else None
                    if not isinstance(ename, str) or not ename or re.search(r"\s", ename):
                        self.add(
                            f"{path}.errors[{i}]", "LEX-FILE-05", "an error needs a 'name' without whitespace"
                        )

    def body(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            self.add(path, "LEX-FILE-05", "must be an object with 'encoding'")
            return
        encoding = node.get("encoding")
        if not isinstance(encoding, str) or not encoding:
            self.add(f"{path}.encoding", "LEX-FILE-05", "'encoding' (a MIME type) is required")
        schema = node.get("schema")
        if schema is not None:
            if not isinstance(schema, dict) or schema.get("type") not in ("object", "ref", "union"):
                self.add(f"{path}.schema", "LEX-FILE-05", "'schema' must be an object, a ref or a union")
            else:
                self.field(schema, f"{path}.schema")

    def p_query(self, node: Mapping[str, Any], path: str) -> None:
        self.method_common(node, path)
        if "input" in node:
            self.add(f"{path}.input", "LEX-FILE-05", "a query has no input (only procedures do)")
        if "output" in node:
            self.body(node["output"], f"{path}.output")

    def p_procedure(self, node: Mapping[str, Any], path: str) -> None:
        self.method_common(node, path)
        for part in ("input", "output"):
            if part in node:
                self.body(node[part], f"{path}.{part}")

    def p_subscription(self, node: Mapping[str, Any], path: str) -> None:
        self.method_common(node, path)
        message = node.get("message")
        schema = message.get("schema") if isinstance(message, dict) else None
        if not isinstance(schema, dict) or schema.get("type") != "union":
            self.add(
                f"{path}.message.schema", "LEX-FILE-06", "a subscription's message schema must be a union"
            )
        else:
            self.field(schema, f"{path}.message.schema")

    def p_permission_set(self, node: Mapping[str, Any], path: str) -> None:
        perms = node.get("permissions")
        if not isinstance(perms, list):
            self.add(f"{path}.permissions", "LEX-FILE-13", "a permission-set needs a 'permissions' list")
        else:
            for i, perm in enumerate(perms):
                ok = isinstance(perm, dict) and perm.get("type") == "permission"
                if not ok or not isinstance(perm.get("resource"), str):
                    self.add(
                        f"{path}.permissions[{i}]",
                        "LEX-FILE-13",
                        "each entry must be a permission with a resource",
                    )
        for key in ("title:lang", "detail:lang"):
            langs = node.get(key)
            if langs is None:
                continue
            if not isinstance(langs, dict):
                self.add(f"{path}.{key}", "LEX-FILE-13", f"'{key}' must map language tags to strings")
                continue
            for tag in langs:
                if not syntax.is_valid_language(tag):
                    self.add(f"{path}.{key}", "LEX-FILE-13", f"{tag!r} is not a valid language tag")

    # -- field types ---------------------------------------------------------------------------------------

    def params(self, node: Mapping[str, Any], path: str) -> None:
        if "nullable" in node:
            self.add(f"{path}.nullable", "LEX-FILE-07", "params cannot be nullable")
        self.properties(node, path, allow_nullable=False)
        for name, prop in (node.get("properties") or {}).items():
            kind = prop.get("type") if isinstance(prop, dict) else None
            if kind == "array":
                kind = prop.get("items", {}).get("type") if isinstance(prop.get("items"), dict) else None
            if kind not in PARAM_TYPES:
                self.add(
                    f"{path}.properties.{name}",
                    "LEX-FILE-07",
                    "params may only be boolean, integer, string or arrays of those",
                )

    def properties(self, node: Mapping[str, Any], path: str, *, allow_nullable: bool) -> None:
        props = node.get("properties", {})
        if not isinstance(props, dict):
            self.add(f"{path}.properties", "LEX-FILE-01", "'properties' must be an object")
            return
        for key in ("required", "nullable") if allow_nullable else ("required",):
            names = node.get(key, [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                self.add(f"{path}.{key}", "LEX-FILE-01", f"'{key}' must be a list of property names")
                continue
            for missing in [n for n in names if n not in props]:
                self.add(f"{path}.{key}", "LEX-FILE-01", f"{key} property {missing!r} is not defined")
        for name, prop in props.items():
            self.field(prop, f"{path}.properties.{name}")

    def field(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            self.add(path, "LEX-FILE-01", "a type definition must be an object with a string 'type'")
            return
        kind = node["type"]
        if kind not in FIELD_TYPES or kind in ("params", "token", "permission"):
            self.add(f"{path}.type", "LEX-FILE-01", f"{kind!r} is not a field type")
            return
        self.values(node, kind, path)
        if kind == "string":
            fmt = node.get("format")
            if fmt is not None and fmt not in KNOWN_FORMATS:
                self.add(f"{path}.format", "LEX-FILE-01", f"unknown string format {fmt!r}")
            self.lengths(node, path, ("minLength", "maxLength"), ("minGraphemes", "maxGraphemes"))
            known = node.get("knownValues")
            if known is not None and (
                not isinstance(known, list) or not all(isinstance(k, str) for k in known)
            ):
                self.add(f"{path}.knownValues", "LEX-FILE-12", "'knownValues' must be a list of strings")
        elif kind == "integer":
            self.lengths(node, path, ("minimum", "maximum"), allow_negative=True)
        elif kind in ("bytes", "array"):
            self.lengths(node, path, ("minLength", "maxLength"))
        if kind == "array":
            if "items" not in node:
                self.add(path, "LEX-FILE-01", "an array needs 'items'")
            else:
                self.field(node["items"], f"{path}.items")
        elif kind == "object":
            if "properties" not in node:
                self.add(path, "LEX-FILE-01", "an object needs 'properties' (lexicon §object: required)")
            self.properties(node, path, allow_nullable=True)
        elif kind == "blob":
            self.blob(node, path)
        elif kind == "ref":
            self.ref(node.get("ref"), f"{path}.ref", in_union=False)
        elif kind == "union":
            self.union(node, path)

    def values(self, node: Mapping[str, Any], kind: str, path: str) -> None:
        if "const" in node and "default" in node:
            self.add(path, "LEX-FILE-08", "'const' and 'default' are mutually exclusive")
        types = _VALUE_TYPES.get(kind)
        if types is None:
            return

        def ok(value: Any) -> bool:
            return isinstance(value, types) and (kind == "boolean" or not isinstance(value, bool))

        for key in ("const", "default"):
            if key in node and not ok(node[key]):
                self.add(f"{path}.{key}", "LEX-FILE-08", f"'{key}' {node[key]!r} is not a {kind}")
        if "enum" in node and (not isinstance(node["enum"], list) or not all(ok(v) for v in node["enum"])):
            self.add(f"{path}.enum", "LEX-FILE-08", f"'enum' must be a list of {kind} values")

    def lengths(
        self, node: Mapping[str, Any], path: str, *pairs: tuple[str, str], allow_negative: bool = False
    ) -> None:
        for low_key, high_key in pairs:
            low, high = node.get(low_key), node.get(high_key)
            for key, value in ((low_key, low), (high_key, high)):
                if value is not None and (
                    not isinstance(value, int)
                    or isinstance(value, bool)
                    or (value < 0 and not allow_negative)
                ):
                    self.add(
                        f"{path}.{key}",
                        "LEX-FILE-08",
                        f"'{key}' must be a {'' if allow_negative else 'non-negative '}integer",
                    )
            if isinstance(low, int) and isinstance(high, int) and low > high:
                self.add(path, "LEX-FILE-08", f"'{low_key}' {low} is greater than '{high_key}' {high}")

    def blob(self, node: Mapping[str, Any], path: str) -> None:
        accept = node.get("accept")
        if accept is not None:
            if not isinstance(accept, list):
                self.add(f"{path}.accept", "LEX-FILE-11", "'accept' must be a list of MIME types")
            else:
                for i, mime in enumerate(accept):
                    if not isinstance(mime, str) or not _MIME.match(mime):
                        self.add(
                            f"{path}.accept[{i}]",
                            "LEX-FILE-11",
                            f"{mime!r} is not a MIME type, 'type/*' or '*/*'",
                        )
        self.lengths(node, path, ("maxSize", "maxSize"))

    def union(self, node: Mapping[str, Any], path: str) -> None:
        refs = node.get("refs")
        if not isinstance(refs, list):
            self.add(f"{path}.refs", "LEX-FILE-09", "a union needs a 'refs' list")
            return
        if not refs and node.get("closed") is True:
            self.add(f"{path}.refs", "LEX-FILE-09", "a closed union cannot be empty")
        for i, ref in enumerate(refs):
            self.ref(ref, f"{path}.refs[{i}]", in_union=True)

    def ref(self, ref: Any, path: str, *, in_union: bool) -> None:
        if not isinstance(ref, str) or not ref or ref == "#":
            self.add(path, "LEX-FILE-10", f"a ref must be 'nsid', 'nsid#name' or '#name', got {ref!r}")
            return
        nsid, name = resolve_ref(self.nsid, ref)
        if not syntax.is_valid_nsid(nsid):
            self.add(path, "LEX-FILE-10", f"ref {ref!r} does not start with a valid NSID")
            return
        target = self.target(nsid, name)
        if target is None:
            if nsid == self.nsid or (self.others is not None and nsid in self.others):
                self.add(path, "LEX-FILE-10", f"ref {ref!r} does not resolve")
            elif self.others is not None:
                self.add(
                    path,
                    "LEX-FILE-10",
                    f"ref {ref!r} is to a Lexicon outside this set (not checked)",
                    "warning",
                )
            return
        kind = target.get("type")
        if kind == "token":
            self.add(path, "LEX-FILE-09", f"ref {ref!r} targets a token")
        elif in_union and kind not in ("object", "record"):
            self.add(path, "LEX-FILE-09", f"union ref {ref!r} targets a {kind}, not an object or record")

    def target(self, nsid: str, name: str) -> Mapping[str, Any] | None:
        if nsid == self.nsid:
            defs = self.raw.get("defs")
        elif self.others is not None and nsid in self.others:
            defs = self.others[nsid].defs
        else:
            return None
        node = defs.get(name) if isinstance(defs, dict) else None
        return node if isinstance(node, dict) else None


def lint_document(raw: Any, others: Mapping[str, LexiconDocument] | None = None) -> list[LintIssue]:
    """Every rule ``raw`` breaks; global refs are checked only with ``others`` (the rest of the set)."""
    return _Linter(raw, others).run()


def iter_errors(raw: Any, others: Mapping[str, LexiconDocument] | None = None) -> Iterator[LintIssue]:
    return (issue for issue in lint_document(raw, others) if issue.severity == "error")
