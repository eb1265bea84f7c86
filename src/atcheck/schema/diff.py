"""Compare two versions of a Lexicon set and classify every change under the Lexicon evolution rules.

The spec's principle (lexicon §Lexicon Evolution) is symmetric: "all old data must still be valid under the
updated Lexicon, and new data must be valid under the old Lexicon". So loosening a constraint is as breaking
as tightening one, and a required field can become neither optional nor absent. Each change carries its
context (``record``, ``params``, ``input``, ``output``, ``message`` or ``def``), because a maintainer cares
whether a record's stored data or an endpoint's callers break. Refs are followed (cycle-safe), so a change
inside a shared ``*.defs`` object is reported against every record and endpoint that reaches it, as well as
at the def itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from atcheck.schema.document import LexiconDocument, resolve_ref, type_string

PRINCIPLE = (
    "all old data must still be valid under the updated Lexicon, and new data must be valid "
    "under the old Lexicon"
)
NEW_OPTIONAL = "Any new fields must be optional"
NO_REMOVE = "Non-optional fields can not be removed."
DEPRECATE = (
    "A best practice is to retain all fields in the Lexicon and mark them as deprecated if "
    "they are no longer used."
)
TYPES = "Types can not change"
RENAME = "Fields can not be renamed"
UNION_OPEN = (
    "future revisions of the schema could add more types to the list of refs (though can not remove types)"
)
UNION_CLOSED = (
    "The `closed` flag (boolean) can indicate that the set of types is fixed and can not be "
    "extended in the future."
)
NEW_NAME = "If larger breaking changes are necessary, a new Lexicon name must be used."
ADDITIVE = (
    "Adding optional fields, defs, open-union refs, knownValues or error names keeps both directions valid."
)

CONSTRAINTS = (
    "format",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minGraphemes",
    "maxGraphemes",
    "maxSize",
    "accept",
    "const",
    "enum",
)

BREAKING, WARNING, OK = "breaking", "warning", "ok"


@dataclass(frozen=True)
class Change:
    """One difference: where (``nsid#def`` plus a path), in which context, what kind, how serious, and why."""

    nsid: str
    path: str
    context: str
    kind: str
    severity: str
    rule: str
    detail: str

    @property
    def breaking(self) -> bool:
        return self.severity == BREAKING

    def render(self) -> str:
        where = f"{self.nsid}{self.path}"
        return f"{self.severity:8} {self.context:7} {where}: {self.kind}: {self.detail} [{self.rule}]"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "breaking": self.breaking}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Differ:
    def __init__(self, old: Mapping[str, LexiconDocument], new: Mapping[str, LexiconDocument]) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        self.expanded: set[tuple[str, str, str]] = set()

    def add(self, nsid: str, path: str, ctx: str, kind: str, severity: str, rule: str, detail: str) -> None:
        self.changes.append(Change(nsid, path, ctx, kind, severity, rule, detail))

    # -- documents and defs --------------------------------------------------------------------------------

    def run(self) -> list[Change]:
        for nsid in sorted(self.old.keys() | self.new.keys()):
            if nsid not in self.new:
                self.add(nsid, "", "def", "lexicon-removed", BREAKING, NEW_NAME, "the Lexicon is gone")
            elif nsid not in self.old:
                self.add(nsid, "", "def", "lexicon-added", OK, ADDITIVE, "new Lexicon")
            else:
                self.document(nsid, self.old[nsid].defs, self.new[nsid].defs)
        return self.changes

    def document(self, nsid: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for name in sorted(old.keys() | new.keys()):
            path = f"#{name}"
            if name not in new:
                self.add(nsid, path, "def", "def-removed", BREAKING, PRINCIPLE, f"def {name!r} removed")
                continue
            if name not in old:
                self.add(nsid, path, "def", "def-added", OK, ADDITIVE, f"def {name!r} added")
                continue
            o, n = old[name], new[name]
            if o.get("type") != n.get("type"):
                self.add(
                    nsid, path, "def", "type-changed", BREAKING, TYPES, f"{o.get('type')} -> {n.get('type')}"
                )
                continue
            kind = o.get("type")
            if kind == "record":
                if o.get("key") != n.get("key"):
                    detail = f"record key {o.get('key')!r} -> {n.get('key')!r}"
                    self.add(nsid, f"{path}.key", "record", "record-key-changed", BREAKING, TYPES, detail)
                self.field(nsid, nsid, o.get("record", {}), n.get("record", {}), f"{path}.record", "record")
            elif kind in ("query", "procedure", "subscription"):
                self.method(nsid, o, n, path)
            elif kind in ("token", "permission-set"):
                self.describe(nsid, o, n, path, "def")
            else:
                self.field(nsid, nsid, o, n, path, "def")

    def method(self, nsid: str, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        self.field(
            nsid,
            nsid,
            old.get("parameters") or {"type": "params"},
            new.get("parameters") or {"type": "params"},
            f"{path}.parameters",
            "params",
        )
        for part in ("input", "output"):
            o, n = old.get(part), new.get(part)
            where = f"{path}.{part}"
            if o is None and n is None:
                continue
            if o is None or n is None:
                what = "added" if o is None else "removed"
                self.add(
                    nsid, where, part, f"{part}-{what}", BREAKING, PRINCIPLE, f"the {part} body was {what}"
                )
                continue
            if o.get("encoding") != n.get("encoding"):
                detail = f"{o.get('encoding')!r} -> {n.get('encoding')!r}"
                self.add(nsid, f"{where}.encoding", part, "encoding-changed", BREAKING, TYPES, detail)
            os_, ns_ = o.get("schema"), n.get("schema")
            if os_ is None and ns_ is None:
                continue
            if os_ is None or ns_ is None:
                what = "added" if os_ is None else "removed"
                self.add(
                    nsid,
                    f"{where}.schema",
                    part,
                    f"schema-{what}",
                    BREAKING,
                    PRINCIPLE,
                    f"the {part} schema was {what}",
                )
                continue
            self.field(nsid, nsid, os_, ns_, f"{where}.schema", part)
        if "message" in old or "message" in new:
            om = (old.get("message") or {}).get("schema", {})
            nm = (new.get("message") or {}).get("schema", {})
            self.field(nsid, nsid, om, nm, f"{path}.message.schema", "message")
        old_errors = {e.get("name") for e in old.get("errors", []) if isinstance(e, dict)}
        new_errors = {e.get("name") for e in new.get("errors", []) if isinstance(e, dict)}
        for name in sorted(str(e) for e in old_errors - new_errors):
            self.add(
                nsid,
                f"{path}.errors",
                "def",
                "error-removed",
                WARNING,
                PRINCIPLE,
                f"error {name!r} no longer declared",
            )
        for name in sorted(str(e) for e in new_errors - old_errors):
            self.add(nsid, f"{path}.errors", "def", "error-added", OK, ADDITIVE, f"error {name!r} declared")

    def describe(
        self, nsid: str, old: Mapping[str, Any], new: Mapping[str, Any], path: str, ctx: str
    ) -> None:
        if old.get("description") != new.get("description"):
            self.add(
                nsid, f"{path}.description", ctx, "description-changed", OK, ADDITIVE, "description edited"
            )

    # -- fields --------------------------------------------------------------------------------------------

    def resolve(self, docs: Mapping[str, LexiconDocument], base: str, ref: str) -> tuple[str, Any]:
        nsid, name = resolve_ref(base, ref)
        doc = docs.get(nsid)
        node = doc.defs.get(name) if doc else None
        if isinstance(node, dict) and node.get("type") == "record":
            node = node.get("record")
        return nsid, node

    def field(self, nsid: str, base: str, old: Any, new: Any, path: str, ctx: str) -> None:
        """Compare two type definitions; ``base`` is the NSID their local refs are relative to."""
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        ot, nt = old.get("type"), new.get("type")
        if ot != nt:
            self.add(nsid, path, ctx, "type-changed", BREAKING, TYPES, f"{ot} -> {nt}")
            return
        for c in CONSTRAINTS:
            if old.get(c) != new.get(c):
                detail = f"{c} {_short(old.get(c))} -> {_short(new.get(c))}"
                self.add(nsid, f"{path}.{c}", ctx, "constraint-changed", BREAKING, PRINCIPLE, detail)
        if old.get("default") != new.get("default"):
            detail = f"default {_short(old.get('default'))} -> {_short(new.get('default'))}"
            self.add(nsid, f"{path}.default", ctx, "default-changed", WARNING, PRINCIPLE, detail)
        ok_, nk = set(old.get("knownValues") or ()), set(new.get("knownValues") or ())
        for value in sorted(ok_ - nk):
            self.add(
                nsid,
                f"{path}.knownValues",
                ctx,
                "known-value-removed",
                WARNING,
                PRINCIPLE,
                f"{value!r} dropped",
            )
        for value in sorted(nk - ok_):
            self.add(nsid, f"{path}.knownValues", ctx, "known-value-added", OK, ADDITIVE, f"{value!r} added")
        if ot in ("object", "params"):
            self.object(nsid, base, old, new, path, ctx)
        elif ot == "array":
            self.field(nsid, base, old.get("items"), new.get("items"), f"{path}[]", ctx)
        elif ot == "ref":
            self.ref(nsid, base, old.get("ref"), new.get("ref"), path, ctx)
        elif ot == "union":
            self.union(nsid, base, old, new, path, ctx)

    def object(
        self, nsid: str, base: str, old: Mapping[str, Any], new: Mapping[str, Any], path: str, ctx: str
    ) -> None:
        op, np_ = old.get("properties") or {}, new.get("properties") or {}
        oreq, nreq = set(old.get("required") or ()), set(new.get("required") or ())
        onull, nnull = set(old.get("nullable") or ()), set(new.get("nullable") or ())
        for name in sorted(op.keys() | np_.keys()):
            where = f"{path}.{name}"
            if name not in np_:
                if name in oreq:
                    self.add(
                        nsid,
                        where,
                        ctx,
                        "required-field-removed",
                        BREAKING,
                        NO_REMOVE,
                        f"required {name!r} removed",
                    )
                else:
                    self.add(
                        nsid,
                        where,
                        ctx,
                        "optional-field-removed",
                        WARNING,
                        DEPRECATE,
                        f"optional {name!r} removed",
                    )
                continue
            if name not in op:
                if name in nreq:
                    self.add(
                        nsid,
                        where,
                        ctx,
                        "required-field-added",
                        BREAKING,
                        NEW_OPTIONAL,
                        f"new {name!r} is required",
                    )
                else:
                    self.add(nsid, where, ctx, "optional-field-added", OK, ADDITIVE, f"new optional {name!r}")
                continue
            if (name in oreq) != (name in nreq):
                kind, detail = (
                    ("made-optional", "required -> optional")
                    if name in oreq
                    else ("made-required", "optional -> required")
                )
                self.add(
                    nsid, where, ctx, kind, BREAKING, PRINCIPLE if name in oreq else NEW_OPTIONAL, detail
                )
            if (name in onull) != (name in nnull):
                detail = "nullable -> not nullable" if name in onull else "not nullable -> nullable"
                self.add(nsid, where, ctx, "nullable-changed", BREAKING, PRINCIPLE, detail)
            self.field(nsid, base, op[name], np_[name], where, ctx)

    def ref(self, nsid: str, base: str, old_ref: Any, new_ref: Any, path: str, ctx: str) -> None:
        if not isinstance(old_ref, str) or not isinstance(new_ref, str):
            return
        o_nsid, o_node = self.resolve(self.old, base, old_ref)
        _, n_node = self.resolve(self.new, base, new_ref)
        same_target = resolve_ref(base, old_ref) == resolve_ref(base, new_ref)
        if not same_target:
            if o_node is not None and o_node == n_node:
                detail = f"{old_ref} -> {new_ref} (identical definitions)"
                self.add(nsid, path, ctx, "ref-renamed", OK, PRINCIPLE, detail)
            else:
                self.add(nsid, path, ctx, "ref-target-changed", BREAKING, TYPES, f"{old_ref} -> {new_ref}")
            return
        if o_node is not None and n_node is not None:
            target = type_string(*resolve_ref(base, old_ref))
            # Each shared def is compared once per (Lexicon, context): this ends recursive defs
            # (threadViewPost -> replies -> threadViewPost) and keeps one report per place of use.
            key = (nsid, ctx, target)
            if key in self.expanded:
                return
            self.expanded.add(key)
            self.field(nsid, o_nsid, o_node, n_node, f"{path}->{target}", ctx)

    def union(
        self, nsid: str, base: str, old: Mapping[str, Any], new: Mapping[str, Any], path: str, ctx: str
    ) -> None:
        oclosed, nclosed = old.get("closed") is True, new.get("closed") is True
        if oclosed != nclosed:
            detail = "open -> closed" if nclosed else "closed -> open"
            self.add(nsid, f"{path}.closed", ctx, "union-closed-changed", BREAKING, UNION_CLOSED, detail)
        orefs = {type_string(*resolve_ref(base, r)): r for r in old.get("refs") or () if isinstance(r, str)}
        nrefs = {type_string(*resolve_ref(base, r)): r for r in new.get("refs") or () if isinstance(r, str)}
        for t in sorted(orefs.keys() - nrefs.keys()):
            self.add(nsid, f"{path}.refs", ctx, "union-ref-removed", BREAKING, UNION_OPEN, f"{t} removed")
        for t in sorted(nrefs.keys() - orefs.keys()):
            if oclosed or nclosed:
                self.add(
                    nsid,
                    f"{path}.refs",
                    ctx,
                    "union-ref-added",
                    BREAKING,
                    UNION_CLOSED,
                    f"{t} added to a closed union",
                )
            else:
                self.add(nsid, f"{path}.refs", ctx, "union-ref-added", OK, UNION_OPEN, f"{t} added")
        for t in sorted(orefs.keys() & nrefs.keys()):
            self.ref(nsid, base, orefs[t], nrefs[t], f"{path}|{t}", ctx)


def diff_sets(old: Mapping[str, LexiconDocument], new: Mapping[str, LexiconDocument]) -> list[Change]:
    """Every change from ``old`` to ``new`` (documents keyed by NSID), in NSID order."""
    return _Differ(old, new).run()


def breaking(changes: list[Change]) -> Iterator[Change]:
    return (c for c in changes if c.breaking)
