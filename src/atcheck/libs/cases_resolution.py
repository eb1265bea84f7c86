"""Lexicon resolution cases for library resolvers, and how each answer is judged.

Lexicon spec §Lexicon Publication and Resolution: an NSID's authority (the NSID without its name, reversed)
is linked to a DID by the DNS TXT record ``_lexicon.<authority>`` with the value ``did=<DID>``; the schema is
the record ``com.atproto.lexicon.schema/<NSID>`` in that DID's repository; resolution is not hierarchical.

Unlike the other case sets, these need a world to resolve in: schema records in a repository and TXT records
in a DNS server. :func:`resolution_cases` builds it through a :class:`Publisher` (atcheck's, on the reference
PDS and its own DNS server, in :mod:`atcheck.suite.lexicon_resolution`; a fake one in the self-tests) and
returns the questions with the answers the spec expects. Each case changes one thing against a record and a
TXT record that would resolve, so a wrong answer names the rule it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from atcheck.libs.case import Judgement
from atcheck.libs.harness import Answer

__all__ = [
    "RESOLUTION_ROWS",
    "SCHEMA_COLLECTION",
    "Publisher",
    "Resolution",
    "judge_resolution",
    "lexicon_queries",
    "lookup_name",
    "resolution_cases",
    "schema_document",
]

SCHEMA_COLLECTION = "com.atproto.lexicon.schema"
#: The catalogue rows these cases check, in the order the suite tests them.
RESOLUTION_ROWS = ("LEX-RES-01", "LEX-RES-02", "LEX-RES-03", "LEX-RES-08")
Op = Literal["lexicon.authority", "lexicon.resolve"]
_SHOWN = 200


@dataclass(frozen=True)
class Resolution:
    """One question to a library's resolver, and what the spec expects of the answer.

    ``did`` set: ``lexicon.authority`` must answer that DID; ``lexicon.resolve`` must answer the record at
    ``at://<did>/com.atproto.lexicon.schema/<nsid>``, with CID ``cid`` and the schema ``document``. ``did``
    None: resolution must fail (an ``error`` answer). ``only_lookup``, when set, is the one ``_lexicon``
    name under the publisher's zone the library may ask the DNS server (no parent or child names).
    """

    key: str
    op: Op
    nsid: str
    requirement: str
    why: str
    did: str | None = None
    cid: str | None = None
    document: Mapping[str, Any] | None = None
    only_lookup: str | None = None

    @property
    def uri(self) -> str | None:
        return None if self.did is None else f"at://{self.did}/{SCHEMA_COLLECTION}/{self.nsid}"

    def show(self) -> str:
        return f"{self.op} {self.nsid}"


class Publisher(Protocol):
    """Where the cases are set up: two repositories (the authority's and another) and a DNS zone."""

    @property
    def author_did(self) -> str: ...

    @property
    def not_set_up(self) -> dict[str, str]:
        """Case key -> why it could not be set up (a record the PDS refused to store)."""
        ...

    def group(self, *below: str) -> str:
        """A fresh NSID authority (group) under the publisher's DNS zone, with ``below`` appended."""
        ...

    def point(self, name: str, value: str) -> None:
        """Serve one more TXT value at DNS ``name``."""
        ...

    def publish(
        self,
        record: Mapping[str, Any],
        rkey: str,
        *,
        other_repo: bool = False,
        collection: str = SCHEMA_COLLECTION,
        may_refuse: bool = False,
    ) -> str | None:
        """Store ``record`` at ``collection/rkey`` in the authority's repository (or the other one); its CID
        by atcheck's oracle. A refusal is None when ``may_refuse`` (a record breaking the schema record's
        rules), else a set-up error of the publisher's."""
        ...


def lookup_name(nsid: str) -> str:
    """``_lexicon.<authority reversed>``: the one TXT name the spec has a resolver ask for ``nsid``."""
    return "_lexicon." + ".".join(reversed(nsid.split(".")[:-1]))


def _above(nsid: str, levels: int) -> str:
    """The ``_lexicon`` name ``levels`` labels above the one for ``nsid`` (a parent authority's)."""
    return "_lexicon." + lookup_name(nsid).removeprefix("_lexicon.").split(".", levels)[levels]


def schema_document(nsid: str, description: str = "atcheck Lexicon resolution") -> dict[str, Any]:
    """A small valid Lexicon document for ``nsid`` (a record type), as its schema record holds it."""
    return {
        "$type": SCHEMA_COLLECTION,
        "lexicon": 1,
        "id": nsid,
        "description": description,
        "defs": {
            "main": {
                "type": "record",
                "key": "tid",
                "record": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "maxLength": 100}},
                },
            }
        },
    }


def resolution_cases(p: Publisher) -> list[Resolution]:
    """Publish every case's records and TXT records through ``p``; the cases, for every row."""
    return [*_authority_cases(p), *_hierarchy_cases(p), *_record_cases(p), *_malformed_cases(p)]


def _authority_cases(p: Publisher) -> list[Resolution]:
    """LEX-RES-01: the TXT record at exactly ``_lexicon.<authority reversed, name dropped>``: ``did=``."""
    did = p.author_did
    cases: list[Resolution] = []

    def good(key: str, nsid: str, why: str) -> None:
        p.publish(schema_document(nsid), nsid)
        cases.append(Resolution(key, "lexicon.authority", nsid, "LEX-RES-01", why, did=did))

    def bad(key: str, nsid: str, name: str, value: str, why: str) -> None:
        p.publish(schema_document(nsid), nsid)
        p.point(name, value)
        cases.append(Resolution(key, "lexicon.authority", nsid, "LEX-RES-01", why))

    short = f"{p.group()}.record"
    p.point(lookup_name(short), f"did={did}")
    good("short-authority", short, "like app.toy.record via _lexicon.toy.app")
    deep = p.group("dept", "lab", "blogging")
    p.point(lookup_name(f"{deep}.getBlogPost"), f"did={did}")
    good("deep-authority", f"{deep}.getBlogPost", "the spec's edu.university.dept.lab.blogging example")
    good("same-group", f"{deep}.getBlogComments", "another name of the group: the same TXT record")
    plain = p.group()
    bad(
        "not-reversed",
        f"{plain}.record",
        f"_lexicon.{plain}",
        f"did={did}",
        "TXT at the authority unreversed",
    )
    nsid = f"{p.group()}.record"
    bad("no-prefix", nsid, lookup_name(nsid).removeprefix("_lexicon."), f"did={did}", "TXT without _lexicon.")
    nsid = f"{p.group()}.record"
    handle_name = "_atproto." + lookup_name(nsid).removeprefix("_lexicon.")
    bad("handle-prefix", nsid, handle_name, f"did={did}", "TXT at _atproto. (handles), not _lexicon.")
    nsid = f"{p.group()}.record"
    bad("bare-did", nsid, lookup_name(nsid), did, "TXT value without the did= prefix")
    nsid = f"{p.group()}.record"
    bad("not-a-did", nsid, lookup_name(nsid), "did=atcheck-not-a-did", "did= followed by no DID")
    return cases


def _both(
    key: str,
    nsid: str,
    why: str,
    *,
    did: str | None = None,
    cid: str | None = None,
    document: Mapping[str, Any] | None = None,
    only_lookup: str | None = None,
) -> list[Resolution]:
    """One LEX-RES-02 question as ``lexicon.authority`` (the DNS step) and ``lexicon.resolve`` (all of it)."""
    ops: tuple[Op, Op] = ("lexicon.authority", "lexicon.resolve")
    return [
        Resolution(f"{key}/{op.split('.')[1]}", op, nsid, "LEX-RES-02", why, did, cid, document, only_lookup)
        for op in ops
    ]


def _hierarchy_cases(p: Publisher) -> list[Resolution]:
    """LEX-RES-02: a TXT record only at a parent or child name resolves nothing, and is not looked up."""
    did = p.author_did
    exact = f"{p.group('sub')}.record"
    p.point(lookup_name(exact), f"did={did}")
    cases = _both(
        "exact",
        exact,
        "control: TXT at the exact name; no other _lexicon name asked",
        did=did,
        cid=p.publish(schema_document(exact), exact),
        document=schema_document(exact),
        only_lookup=lookup_name(exact),
    )
    where: list[tuple[str, tuple[str, ...], Callable[[str], str], str]] = [
        ("parent-only", ("sub",), lambda n: _above(n, 1), "TXT only at the parent authority"),
        ("grandparent-only", ("a", "b"), lambda n: _above(n, 2), "TXT only two labels up"),
        ("child-only", ("sub",), lambda n: lookup_name(f"{n}.x"), "TXT at the name, NSID name kept"),
    ]
    for key, below, name_of, why in where:
        nsid = f"{p.group(*below)}.record"
        p.publish(schema_document(nsid), nsid)
        p.point(name_of(nsid), f"did={did}")
        cases += _both(key, nsid, why, only_lookup=lookup_name(nsid))
    return cases


def _record_cases(p: Publisher) -> list[Resolution]:
    """LEX-RES-03: the schema is the record com.atproto.lexicon.schema/<NSID> in the TXT record's DID."""
    did = p.author_did
    group = p.group()
    p.point(lookup_name(f"{group}.x"), f"did={did}")
    cases: list[Resolution] = []

    nsid = f"{group}.record"
    doc = schema_document(nsid)
    why = "the record at com.atproto.lexicon.schema/<NSID>: its AT-URI, CID and document"
    cases.append(
        Resolution("at-the-nsid", "lexicon.resolve", nsid, "LEX-RES-03", why, did, p.publish(doc, nsid), doc)
    )
    nsid = f"{group}.inBothRepos"
    doc = schema_document(nsid)
    p.publish(schema_document(nsid, "the other repository's copy"), nsid, other_repo=True)
    why = "a copy in another repository too: the TXT record's DID's record is the one"
    cases.append(
        Resolution(
            "in-both-repos", "lexicon.resolve", nsid, "LEX-RES-03", why, did, p.publish(doc, nsid), doc
        )
    )
    nsid = f"{group}.elsewhereOnly"
    p.publish(schema_document(nsid), nsid, other_repo=True)
    why = "published only in another DID's repository"
    cases.append(Resolution("other-repo-only", "lexicon.resolve", nsid, "LEX-RES-03", why))
    nsid = f"{group}.otherCollection"
    copies = f"{group}.schemaCopy"  # a record's $type is its collection
    p.publish({**schema_document(nsid), "$type": copies}, nsid, collection=copies)
    why = "the document stored under another collection, not com.atproto.lexicon.schema"
    cases.append(Resolution("other-collection-only", "lexicon.resolve", nsid, "LEX-RES-03", why))
    return cases


def _malformed_cases(p: Publisher) -> list[Resolution]:
    """LEX-RES-08: a schema record whose id is not its NSID, or whose lexicon is not 1, is refused."""
    group = p.group()
    p.point(lookup_name(f"{group}.x"), f"did={p.author_did}")
    cases: list[Resolution] = []
    changes: list[tuple[str, str, dict[str, Any], str]] = [
        ("id-mismatch", f"{group}.named", {"id": f"{group}.otherName"}, "id names another NSID"),
        ("id-fragment", f"{group}.fragment", {"id": f"{group}.fragment#main"}, "id with a #fragment"),
        ("lexicon-2", f"{group}.version", {"lexicon": 2}, "lexicon 2: not this version of the language"),
    ]
    for key, nsid, change, why in changes:
        if p.publish({**schema_document(nsid), **change}, nsid, may_refuse=True) is None:
            p.not_set_up[key] = "the PDS refused to store the record"
        cases.append(Resolution(key, "lexicon.resolve", nsid, "LEX-RES-08", why))
    return cases


# -- judging ------------------------------------------------------------------------------------------------


def lexicon_queries(queries: list[tuple[str, str]], zone: str) -> list[str]:
    """The distinct ``_lexicon`` names under ``zone`` among DNS ``queries`` (a system resolver's
    search-domain suffixes land outside the zone and are not the library's doing)."""
    names: list[str] = []
    for name, _ in queries:
        if name.startswith("_lexicon.") and name.endswith("." + zone) and name not in names:
            names.append(name)
    return names


def judge_resolution(
    case: Resolution, answer: Answer, queries: list[tuple[str, str]], zone: str
) -> Judgement:
    """Whether ``answer``, with the DNS ``queries`` the library made for it, is what the spec expects."""
    if answer.kind == "unsupported":
        return Judgement("unsupported")
    if case.only_lookup is not None:
        others = [n for n in lexicon_queries(queries, zone) if n != case.only_lookup]
        if others:
            return Judgement(
                "disagree",
                f"asked DNS for {', '.join(others)}: only {case.only_lookup} may be looked up "
                f"(no parent or child names); answer {answer.describe()}",
            )
    if case.did is None:
        if answer.kind == "error":
            return Judgement("agree")
        return Judgement("disagree", f"expected resolution to fail, got {answer.describe()}")
    if answer.kind != "result":
        return Judgement("disagree", f"expected it to resolve to {case.did}, got {answer.describe()}")
    if case.op == "lexicon.authority":
        if answer.value == case.did:
            return Judgement("agree")
        return Judgement("disagree", f"expected {case.did}, got {answer.describe()}")
    return _judge_record(case, answer.value)


def _judge_record(case: Resolution, got: Any) -> Judgement:
    if not isinstance(got, dict):
        return Judgement("disagree", f"expected {{uri, cid, schema}}, got {_short(got)}")
    wrong: list[str] = []
    if got.get("uri") != case.uri:
        wrong.append(f"uri {_short(got.get('uri'))}, expected {case.uri}")
    if got.get("cid") != case.cid:
        wrong.append(f"cid {_short(got.get('cid'))}, expected {case.cid} (atcheck's oracle)")
    schema = got.get("schema")
    document = case.document or {}
    if not isinstance(schema, dict):
        wrong.append(f"schema {_short(schema)}, expected the published document")
    else:
        for key in ("lexicon", "id", "defs"):
            if schema.get(key) != document.get(key):
                wrong.append(f"schema {key} {_short(schema.get(key))}, expected {_short(document.get(key))}")
    if wrong:
        return Judgement("disagree", "; ".join(wrong))
    return Judgement("agree")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=True)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} chars)"
