"""Hypothesis strategies for Lexicon data: valid records, and invalid ones that break exactly one constraint.

``from_lexicon(nsid)`` draws records (or any def, via ``ref``) that the Lexicon accepts. It is written
against the Lexicon itself rather than through hypothesis-jsonschema: the generated JSON Schemas rely on
``if``/``then`` union discriminators, cross-resource ``$ref``s and ``x-lex`` keywords (bytes, graphemes),
which hypothesis-jsonschema cannot generate from, and the Lexicon says directly what a blob, a ``$bytes``
value or a union variant looks like. (Even for plain params objects, hypothesis-jsonschema 0.23.1 fails
with the pinned Hypothesis 6.170: ``'many' object has no attribute 'more'`` on every object schema.)

``invalid_from_lexicon(nsid)`` draws ``(record, Mutation)``: a valid record with one constraint broken at one
place, and a description of which. Each mutation is chosen so that it breaks only that constraint (a string
made too long in UTF-8 bytes keeps its grapheme count legal, and so on), so a validator that rejects it for
another reason is itself suspect.

Generated text avoids unassigned code points and surrogates: grapheme segmentation of unassigned code points
differs between Unicode versions, which would make validators disagree about nothing.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from atcheck.schema import identifiers
from atcheck.schema.document import LexiconDocument, resolve_ref, type_string
from atcheck.schema.keywords import grapheme_count, utf8_length
from atcheck.schema.sources import LexiconSet

MAX_DEPTH = 4
DEFAULT_MAX_TEXT = 40
DEFAULT_MAX_ITEMS = 3
INT_RANGE = 1 << 31

_TEXT = st.characters(exclude_categories=("Cs", "Cn", "Co"))


@dataclass(frozen=True)
class Mutation:
    """Which constraint an invalid instance breaks, and where (a JSON path into the instance)."""

    path: str
    constraint: str
    detail: str
    has_default: bool = False
    """For a removed required field: the field declares a ``default`` (some validators fill it in)."""
    kind: str = ""
    """The data-model kind of the value at ``path`` before the change (``string``, ``integer``, ``bytes``,
    ``array``, ``object``...): ``maxLength`` means UTF-8 bytes, decoded bytes or elements depending on it."""

    def __str__(self) -> str:
        return f"{self.path}: {self.constraint} ({self.detail})"


def _fit_text(s: str, node: Mapping[str, Any]) -> str:
    """Trim or pad ``s`` so it meets the node's byte and grapheme bounds."""
    max_b, min_b = node.get("maxLength"), node.get("minLength")
    max_g, min_g = node.get("maxGraphemes"), node.get("minGraphemes")
    while s and (
        (max_b is not None and utf8_length(s) > max_b) or (max_g is not None and grapheme_count(s) > max_g)
    ):
        s = s[:-1]
    need_b = (min_b or 0) - utf8_length(s)
    need_g = (min_g or 0) - grapheme_count(s)
    if need_b > 0 or need_g > 0:
        s = s + "a" * max(need_b, need_g, 0)
    return s


class _Builder:
    """Strategies for one Lexicon set; memoised per def so recursive schemas build lazily."""

    def __init__(self, docs: Mapping[str, LexiconDocument]) -> None:
        self.docs = docs

    def definition(self, nsid: str, name: str) -> Mapping[str, Any]:
        doc = self.docs.get(nsid)
        node = doc.defs.get(name) if doc else None
        if not isinstance(node, dict):
            raise KeyError(f"{nsid}#{name}")
        return node

    def record(self, nsid: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
        node = self.definition(nsid, "main")
        body = self.object(nsid, node["record"], depth)
        return body.map(lambda d: {"$type": nsid, **d})

    def field(self, base: str, node: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        kind = node.get("type")
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low = node.get("minimum", -INT_RANGE)
            high = node.get("maximum", INT_RANGE)
            return st.integers(min_value=low, max_value=max(low, high))
        if kind == "string":
            return self.string(node)
        if kind == "bytes":
            low = node.get("minLength", 0)
            high = node.get("maxLength", max(low, 32))
            return st.binary(min_size=low, max_size=min(high, low + 64)).map(
                lambda b: {"$bytes": base64.b64encode(b).decode()}
            )
        if kind == "cid-link":
            return identifiers.cids().map(lambda c: {"$link": c})
        if kind == "blob":
            return self.blob(node)
        if kind == "array":
            low = node.get("minLength", 0)
            high = node.get("maxLength", low + DEFAULT_MAX_ITEMS)
            high = min(high, low + (DEFAULT_MAX_ITEMS if depth < MAX_DEPTH else 0))
            return st.lists(self.field(base, node["items"], depth + 1), min_size=low, max_size=high)
        if kind == "object":
            return self.object(base, node, depth)
        if kind == "ref":
            nsid, name = resolve_ref(base, node["ref"])
            target = self.definition(nsid, name)
            if target.get("type") == "record":
                return st.deferred(lambda: self.record(nsid, depth + 1))
            return st.deferred(lambda: self.field(nsid, target, depth + 1))
        if kind == "union":
            return self.union(base, node, depth)
        if kind == "unknown":
            scalar = st.one_of(st.booleans(), st.integers(-1000, 1000), st.text(_TEXT, max_size=10))
            return st.dictionaries(st.text(identifiers.LOWER, min_size=1, max_size=6), scalar, max_size=3)
        raise ValueError(f"cannot generate Lexicon type {kind!r}")

    def string(self, node: Mapping[str, Any]) -> st.SearchStrategy[str]:
        fmt = node.get("format")
        if fmt in identifiers.KINDS:
            base = identifiers.valid(fmt)
        else:
            cap = min(
                node.get("maxGraphemes", DEFAULT_MAX_TEXT),
                node.get("maxLength", DEFAULT_MAX_TEXT),
                DEFAULT_MAX_TEXT,
            )
            base = st.text(_TEXT, max_size=max(cap, 0))
        limit = node.get("maxGraphemes", node.get("maxLength"))
        if not fmt and limit:
            # Values at the limit, so that a tightened bound (schema diff) has data that shows it.
            full = st.sampled_from(["a", "é", "字", "👍"]).map(lambda c: _fit_text(c * limit, node))
            base = st.one_of(base, full)
        known = node.get("knownValues")
        if known:
            base = st.one_of(st.sampled_from(known), base)
        fitted = base.map(lambda s: _fit_text(s, node)) if not fmt else base
        return fitted.filter(lambda s: _string_ok(s, node))

    def blob(self, node: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        accept = [a for a in node.get("accept", ["*/*"]) if isinstance(a, str)] or ["*/*"]

        def concrete(pattern: str, sub: str) -> str:
            if pattern == "*/*":
                return "application/octet-stream"
            return pattern[:-1] + sub if pattern.endswith("/*") else pattern

        mime = st.builds(
            concrete, st.sampled_from(accept), st.sampled_from(["png", "jpeg", "webp", "mp4", "plain"])
        )
        size = st.integers(min_value=1, max_value=node.get("maxSize", 1_000_000))
        return st.builds(
            lambda ref, m, n: {"$type": "blob", "ref": {"$link": ref}, "mimeType": m, "size": n},
            identifiers.cids(0x55),
            mime,
            size,
        )

    def object(self, base: str, node: Mapping[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        props: Mapping[str, Any] = node.get("properties", {})
        required = [p for p in node.get("required", []) if p in props]
        nullable = set(node.get("nullable", []))

        def prop(name: str) -> st.SearchStrategy[Any]:
            inner = self.field(base, props[name], depth + 1)
            return st.one_of(inner, st.none()) if name in nullable else inner

        optional = {n: prop(n) for n in props if n not in required} if depth < MAX_DEPTH else {}
        return st.fixed_dictionaries({n: prop(n) for n in required}, optional=optional)

    def union(self, base: str, node: Mapping[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        refs = [r for r in node.get("refs", []) if isinstance(r, str)]
        if not refs:
            return st.just({"$type": "com.example.atcheck.unlisted"})

        def variant(nsid: str, name: str) -> st.SearchStrategy[dict[str, Any]]:
            target = self.definition(nsid, name)
            if target.get("type") == "record":
                return st.deferred(lambda: self.record(nsid, depth + 1))
            tstr = type_string(nsid, name)
            return st.deferred(
                lambda: self.object(nsid, target, depth + 1).map(lambda d: {"$type": tstr, **d})
            )

        variants = [variant(*resolve_ref(base, ref)) for ref in refs]
        return st.one_of(variants)


def _string_ok(s: str, node: Mapping[str, Any]) -> bool:
    b, g = utf8_length(s), grapheme_count(s)
    return bool(
        b <= node.get("maxLength", b)
        and b >= node.get("minLength", 0)
        and g <= node.get("maxGraphemes", g)
        and g >= node.get("minGraphemes", 0)
    )


def from_lexicon(nsid: str, lexicons: LexiconSet) -> st.SearchStrategy[dict[str, Any]]:
    """Valid records of record type ``nsid`` (with ``$type``)."""
    return _Builder(lexicons.documents).record(nsid)


def from_part(nsid: str, part: str, lexicons: LexiconSet) -> st.SearchStrategy[Any]:
    """Valid values for ``part`` (record, input, output, params) of ``nsid``'s main def."""
    if part == "record":
        return from_lexicon(nsid, lexicons)
    builder = _Builder(lexicons.documents)
    main = builder.definition(nsid, "main")
    node = main.get("parameters") if part == "params" else (main.get(part) or {}).get("schema")
    if not isinstance(node, dict):
        raise KeyError(f"{nsid} has no {part} schema")
    return builder.object(nsid, node, 0) if part == "params" else builder.field(nsid, node, 0)


# -- one broken constraint at a time ----------------------------------------------------------------------

Site = tuple[str, str, str, Callable[[Any], Any]]
"""(path, constraint, detail, how to replace the value at path)."""

_REMOVE = object()


def _const(value: Any) -> Callable[[Any], Any]:
    return lambda _old: copy.deepcopy(value)


def _merge(**changes: Any) -> Callable[[Any], Any]:
    return lambda old: {**old, **changes}


def _repeat(n: int) -> Callable[[Any], Any]:
    return lambda old: (old * n)[:n]


def _truncate(n: int) -> Callable[[Any], Any]:
    return lambda old: old[:n]


class _DrawInvalid:
    """A site whose replacement is drawn: a value just past one rule of ``fmt`` (see :mod:`identifiers`)."""

    def __init__(self, fmt: str, node: Mapping[str, Any]) -> None:
        self.fmt = fmt
        self.node = node

    def __call__(self, old: Any) -> Any:
        raise TypeError("draw the replacement with strategy() first")

    def strategy(self) -> st.SearchStrategy[tuple[str, str]]:
        return identifiers.invalid(self.fmt).filter(lambda pair: _string_ok(pair[0], self.node))


def _site(path: str, constraint: str, detail: str, how: Callable[..., Any]) -> Site:
    return (path, constraint, detail, how)


def _wrong_type(kind: str) -> Any:
    return {
        "boolean": "true",
        "integer": "1",
        "string": 1,
        "array": {},
        "object": [],
        "bytes": "AAAA",
        "cid-link": "b",
        "blob": "x",
    }.get(kind, 1)


def _bytes_heavy(n_bytes: int, max_graphemes: int | None) -> str | None:
    """A string over ``n_bytes`` UTF-8 bytes with as few graphemes as possible (combining marks)."""
    cluster = "e" + "\u0301" * 60  # 1 grapheme, 121 bytes
    count = -(-n_bytes // utf8_length(cluster))
    s = cluster * count
    if max_graphemes is not None and grapheme_count(s) > max_graphemes:
        return None
    return s


class _Mutator:
    def __init__(self, docs: Mapping[str, LexiconDocument]) -> None:
        self.docs = docs
        self.builder = _Builder(docs)

    def sites(
        self, base: str, node: Mapping[str, Any], value: Any, path: str, *, nullable: bool = False
    ) -> list[Site]:
        """Every way to break exactly one constraint of ``node`` at ``value`` (recursing into children)."""
        kind = node.get("type")
        out: list[Site] = []
        if kind == "ref":
            nsid, name = resolve_ref(base, node["ref"])
            target = self.builder.definition(nsid, name)
            if target.get("type") == "record":
                target = target["record"]
            return self.sites(nsid, target, value, path)
        if value is None:
            return out
        if kind not in ("unknown", "union"):
            out.append(
                (
                    path,
                    "type",
                    f"{kind} replaced by a value of another type",
                    _const(_wrong_type(str(kind))),
                )
            )
        if not nullable and kind != "null":
            out.append(_site(path, "nullable", "null where the field is not nullable", lambda v: None))
        if "const" in node:
            c = node["const"]
            if isinstance(c, bool):
                out.append(_site(path, "const", f"not the constant {c!r}", _const(not c)))
            elif isinstance(c, int):
                out.append(_site(path, "const", f"not the constant {c!r}", _const(c + 1)))
            elif isinstance(c, str):
                out.append(_site(path, "const", f"not the constant {c!r}", _const(c + "x")))
        if "enum" in node:
            choices = node["enum"]
            if all(isinstance(e, str) for e in choices):
                out.append(
                    (
                        path,
                        "enum",
                        "a value outside the closed enum",
                        _const("x" + max(choices, key=len)),
                    )
                )
            elif all(isinstance(e, int) for e in choices):
                out.append(_site(path, "enum", "a value outside the closed enum", _const(max(choices) + 1)))
        if kind == "integer" and "const" not in node and "enum" not in node:
            if "maximum" in node:
                out.append(_site(path, "maximum", f"{node['maximum']} + 1", _const(node["maximum"] + 1)))
            if "minimum" in node:
                out.append(_site(path, "minimum", f"{node['minimum']} - 1", _const(node["minimum"] - 1)))
        elif kind == "string" and "const" not in node and "enum" not in node:
            out.extend(self.string_sites(node, path))
        elif kind == "bytes":
            if "maxLength" in node:
                n = node["maxLength"] + 1
                out.append(
                    (
                        path,
                        "maxLength",
                        f"{n} decoded bytes",
                        _const({"$bytes": base64.b64encode(b"\0" * n).decode()}),
                    )
                )
            if node.get("minLength", 0) > 0:
                n = node["minLength"] - 1
                out.append(
                    (
                        path,
                        "minLength",
                        f"{n} decoded bytes",
                        _const({"$bytes": base64.b64encode(b"\0" * n).decode()}),
                    )
                )
        elif kind == "cid-link":
            out.append(_site(path, "format", "$link is not a CID", lambda v: {"$link": "not a cid"}))
        elif kind == "blob":
            if "maxSize" in node:
                out.append(
                    (
                        path,
                        "maxSize",
                        f"size {node['maxSize'] + 1}",
                        _merge(size=node["maxSize"] + 1),
                    )
                )
            accept = node.get("accept")
            if accept and "*/*" not in accept:
                out.append(
                    (
                        path,
                        "accept",
                        "mimeType outside accept",
                        lambda v: {**v, "mimeType": "application/x-atcheck-unaccepted"},
                    )
                )
            out.append(
                (path, "blob", "blob without its ref", lambda v: {k: x for k, x in v.items() if k != "ref"})
            )
        elif kind == "array" and isinstance(value, list):
            if "maxLength" in node and value:
                n = node["maxLength"] + 1
                out.append(_site(path, "maxLength", f"{n} elements", _repeat(n)))
            if node.get("minLength", 0) > 0:
                n = node["minLength"] - 1
                out.append(_site(path, "minLength", f"{n} elements", _truncate(n)))
            for i, item in enumerate(value):
                out.extend(self.sites(base, node["items"], item, f"{path}[{i}]"))
        elif kind == "object" and isinstance(value, dict):
            out.extend(self.object_sites(base, node, value, path))
        elif kind == "union" and isinstance(value, dict):
            out.append(_site(path, "type", "union variant is not an object", lambda v: 123))
            out.append(
                (
                    path,
                    "$type",
                    "union variant without $type",
                    lambda v: {k: x for k, x in v.items() if k != "$type"},
                )
            )
            if node.get("closed") is True:
                out.append(
                    (
                        path,
                        "closed",
                        "$type outside the closed union",
                        lambda v: {**v, "$type": "com.example.atcheck.outside"},
                    )
                )
            tstr = value.get("$type")
            for ref in node.get("refs", []):
                nsid, name = resolve_ref(base, ref)
                if type_string(nsid, name) == tstr:
                    target = self.builder.definition(nsid, name)
                    if target.get("type") == "record":
                        target = target["record"]
                    out.extend(s for s in self.object_sites(nsid, target, value, path))
        elif kind == "unknown":
            out.append(_site(path, "unknown", "a scalar where an object is required", lambda v: 42))
        return out

    def string_sites(self, node: Mapping[str, Any], path: str) -> list[Site]:
        out: list[Site] = []
        fmt = node.get("format")
        max_b, min_b = node.get("maxLength"), node.get("minLength")
        max_g, min_g = node.get("maxGraphemes"), node.get("minGraphemes")
        if fmt in identifiers.KINDS:
            for bad in _BAD_FORMAT.get(fmt, ()):
                if _string_ok(bad, node):
                    rule = f" ({_BAD_FORMAT_RULE[bad]})" if bad in _BAD_FORMAT_RULE else ""
                    out.append(_site(path, "format", f"{bad!r} is not a valid {fmt}{rule}", _const(bad)))
            out.append(_site(path, "format", f"a near miss of {fmt}", _DrawInvalid(fmt, node)))
        if fmt:
            return out
        if max_b is not None:
            heavy = _bytes_heavy(max_b + 1, max_g)
            if heavy is not None and (min_g is None or grapheme_count(heavy) >= min_g):
                out.append(_site(path, "maxLength", f"over {max_b} UTF-8 bytes", _const(heavy)))
        if max_g is not None and (max_b is None or max_g + 1 <= max_b):
            s = "a" * (max_g + 1)
            if min_b is None or len(s) >= min_b:
                out.append(_site(path, "maxGraphemes", f"{max_g + 1} graphemes", _const(s)))
        if min_b:
            s = "a" * (min_b - 1)
            if (min_g is None or len(s) >= min_g) and (max_g is None or len(s) <= max_g):
                out.append(_site(path, "minLength", f"{min_b - 1} UTF-8 bytes", _const(s)))
        if min_g:
            s = ("e" + "\u0301" * 3) * (min_g - 1)
            if (min_b is None or utf8_length(s) >= min_b) and (max_b is None or utf8_length(s) <= max_b):
                out.append(_site(path, "minGraphemes", f"{min_g - 1} graphemes", _const(s)))
        return out

    def object_sites(
        self, base: str, node: Mapping[str, Any], value: dict[str, Any], path: str
    ) -> list[Site]:
        out: list[Site] = []
        props: Mapping[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        nullable = set(node.get("nullable", []))
        for name, sub in props.items():
            where = f"{path}.{name}"
            if name in value:
                if name in required:
                    out.append(_site(where, "required", f"required {name!r} removed", lambda v: _REMOVE))
                out.extend(self.sites(base, sub, value[name], where, nullable=name in nullable))
        return out


def _set(root: Any, path: str, new: Callable[[Any], Any]) -> Any:
    """Copy of ``root`` with the value at ``path`` (``$.a[0].b``) replaced by ``new(old)``."""
    root = copy.deepcopy(root)
    steps: list[str | int] = []
    for part in path[1:].replace("[", ".[").split("."):
        if not part:
            continue
        steps.append(int(part[1:-1]) if part.startswith("[") else part)
    if not steps:
        return new(root)
    parent = root
    for step in steps[:-1]:
        parent = parent[step]
    last = steps[-1]
    replacement = new(parent[last])
    if replacement is _REMOVE:
        del parent[last]
    else:
        parent[last] = replacement
    return root


_BAD_FORMAT: dict[str, tuple[str, ...]] = {
    "did": ("did:Example:abc",),
    "handle": ("handle.0",),
    "nsid": ("com.example",),
    "tid": ("3kznmn7xqxl2",),
    "record-key": ("..",),
    "at-uri": ("at://did:plc:abc/not an nsid",),
    "at-identifier": ("-bad.example",),
    "datetime": ("2024-01-01T12:00:00",),
    "language": ("e",),
    "cid": ("Qm123",),
    "uri": ("no scheme here",),
}
"""Per format, values just past its rule. Datetime has only a lexical miss (no timezone, a MUST): its calendar
misses (February 29 of 2023) are a "should" in the published spec, so no MUST-level refusal test uses them."""

_BAD_FORMAT_RULE = {"2024-01-01T12:00:00": "a timezone is required"}
"""The rule a constant of :data:`_BAD_FORMAT` breaks, where a validator's documented leniency names it."""


def _has_default(node: Mapping[str, Any], path: str) -> bool:
    """Whether the top-level property at ``$.<name>`` declares a default (nested ones: not tracked)."""
    name = path[2:]
    prop = node.get("properties", {}).get(name) if "." not in name and "[" not in name else None
    return isinstance(prop, dict) and "default" in prop


def value_kind(value: Any) -> str:
    """The data-model kind of a JSON value (``$bytes``, ``$link`` and blob objects are kinds of their own)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        if "$bytes" in value:
            return "bytes"
        if "$link" in value:
            return "cid-link"
        if value.get("$type") == "blob":
            return "blob"
        return "object"
    return type(value).__name__


def _get(root: Any, path: str) -> Any:
    """The value at ``path`` (``$.a[0].b``) of ``root``."""
    for part in path[1:].replace("[", ".[").split("."):
        if part:
            root = root[int(part[1:-1])] if part.startswith("[") else root[part]
    return root


def invalid_from_lexicon(
    nsid: str,
    lexicons: LexiconSet,
    only: Callable[[str, str], bool] | None = None,
) -> st.SearchStrategy[tuple[dict[str, Any], Mutation]]:
    """Records of type ``nsid`` with exactly one constraint broken, and which one (a :class:`Mutation`).

    ``only(constraint, kind)`` keeps the places where that constraint of a value of that kind can be broken
    (a record with none is rejected), so one rule can be tested on its own.
    """
    mutator = _Mutator(lexicons.documents)
    node = mutator.builder.definition(nsid, "main")["record"]

    @st.composite
    def draw(draw: st.DrawFn) -> tuple[dict[str, Any], Mutation]:
        record = draw(from_lexicon(nsid, lexicons))
        body = {k: v for k, v in record.items() if k != "$type"}
        sites = mutator.object_sites(nsid, node, body, "$")
        if only is not None:
            sites = [site for site in sites if only(site[1], value_kind(_get(record, site[0])))]
            if not sites:
                reject()
        if not sites:
            sites = [_site("$.$type", "type", "record $type is not a string", lambda v: 1)]
        where, constraint, detail, how = draw(st.sampled_from(sites))
        if isinstance(how, _DrawInvalid):
            value, rule = draw(how.strategy())
            detail = f"{value[:60]!r} is not a valid {how.fmt} ({rule})"
            how = _const(value)
        has_default = constraint == "required" and _has_default(node, where)
        kind = value_kind(_get(record, where))
        return _set(record, where, how), Mutation(where, constraint, detail, has_default, kind)

    return draw()
