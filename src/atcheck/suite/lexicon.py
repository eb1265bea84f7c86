"""Records generated from the Lexicons, and how the Lexicon property suite writes and judges them.

``suites/lexicon`` draws records from these strategies and sends them with ``validate: true``:

- a **valid** record (:func:`valid_records`, from :func:`atcheck.schema.generate.from_lexicon`) must be
  accepted and stored unchanged under the CID atcheck's oracle computes;
- an **invalid** record (:func:`invalid_records`, exactly one constraint broken) must be refused with a 400,
  and nothing written: :func:`repo_state` is the same before and after. When a reference validator is known
  not to check that constraint (:mod:`atcheck.schema.disagreements`), :func:`refusal_expected` says so and
  quotes the deciding spec sentence; when a server refuses a valid record for a documented reason,
  :func:`known_refusals` names it.

A failure of a documented kind carries a case key (``[case: CLASS -> HTTP STATUS]``,
:func:`atcheck.baseline.case_tag`): which leniency, and what the server answered. A baseline names those keys
exactly, so a known leniency answered with a 500, or an undocumented failure, is never excused as known.

Records holding blobs are left out: a blob must be uploaded before a record can refer to it, which is the
blob suite's business, not the Lexicon's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from atcheck.accounts import Account
from atcheck.baseline import case_tag
from atcheck.checks import ConformanceFailure, expect_ok
from atcheck.schema.disagreements import Known, classify
from atcheck.schema.generate import Mutation, from_lexicon, invalid_from_lexicon
from atcheck.schema.sources import LexiconSet, default_lexicons
from atcheck.suite.commits import latest_commit
from atcheck.xrpc.client import XrpcResponse

RECORD_TYPES = (
    "app.bsky.feed.post",
    "app.bsky.feed.like",
    "app.bsky.feed.repost",
    "app.bsky.graph.follow",
    "app.bsky.graph.block",
    "app.bsky.actor.profile",
)


@cache
def _lexicons() -> LexiconSet:
    return default_lexicons()


def has_blob(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("$type") == "blob" or any(has_blob(v) for v in value.values())
    if isinstance(value, list):
        return any(has_blob(v) for v in value)
    return False


def rkey_for(nsid: str) -> str | None:
    """An rkey the Lexicon's key type allows (None: let the server pick a TID)."""
    key = _lexicons().get(nsid).defs["main"].get("key", "tid")
    if isinstance(key, str) and key.startswith("literal:"):
        return key[len("literal:") :]
    if key in ("any", "nsid"):
        return f"com.example.atcheck{secrets.token_hex(4)}" if key == "nsid" else f"k{secrets.token_hex(6)}"
    return None


def repo_state(account: Account, nsid: str) -> tuple[Any, int]:
    """(repo rev, number of records in the collection): what a refused write must leave untouched."""
    rev = latest_commit(account.client, account.did).rev
    listed = expect_ok(
        account.client.query(
            "com.atproto.repo.listRecords", {"repo": account.did, "collection": nsid, "limit": 100}
        )
    )
    return rev, len(listed.get("records", []))


def create_validated(account: Account, nsid: str, record: dict[str, Any]) -> XrpcResponse:
    body: dict[str, Any] = {"repo": account.did, "collection": nsid, "record": record, "validate": True}
    rkey = rkey_for(nsid)
    if rkey is not None:
        body["rkey"] = rkey
    return account.client.procedure("com.atproto.repo.createRecord", body)


VALIDATORS = ("@atproto/lexicon", "lexrpc")


def refusal_expected(mutation: Mutation, resp: XrpcResponse) -> str:
    """What a refusal should be, naming any documented leniency of a reference validator for this case.

    The PDSes under test validate with these libraries (@atproto/pds with @atproto/lexicon, arroba with
    lexrpc), so a baseline can tell a known leniency from a new failure by the case key written here.
    """
    known = [k for v in VALIDATORS if (k := classify(v, mutation, None, {})) is not None]
    return f"a 400 refusing a record that breaks {mutation}{documented(known, resp)}"


def known_refusals(resp: XrpcResponse, record: dict[str, Any]) -> list[Known]:
    """Documented reasons a validator refuses this valid record, judged from the server's 400 message."""
    if resp.status != 400:
        return []
    try:
        body = resp.json()
    except ConformanceFailure:  # not JSON: no documented class to name
        return []
    error = body.get("message") if isinstance(body, dict) else None
    if not isinstance(error, str):
        return []
    return [k for v in VALIDATORS if (k := classify(v, None, error, record)) is not None]


def documented(known: list[Known], resp: XrpcResponse) -> str:
    """The documented classes, with their deciding text, and the case key a baseline can name exactly."""
    if not known:
        return ""
    notes = "".join(f" (known of {k.validator}: {k.summary}; decided by {k.decided_by})" for k in known)
    key = "+".join(k.id for k in known) + f" -> HTTP {resp.status}"
    return f"{notes} {case_tag(key)}"


def valid_records(nsid: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid records of the Lexicon ``nsid``, without blobs."""
    return from_lexicon(nsid, _lexicons()).filter(lambda r: not has_blob(r))


def invalid_records(nsid: str) -> st.SearchStrategy[tuple[dict[str, Any], Mutation]]:
    """Records of ``nsid`` with exactly one constraint broken, each with the :class:`Mutation` it made."""
    # A removed required field that declares a default is left out: the spec never says whether a default
    # satisfies "required" (see ts-default-fills-required), so a server filling it in fails no MUST.
    return invalid_from_lexicon(nsid, _lexicons()).filter(
        lambda pair: not has_blob(pair[0]) and not pair[1].has_default
    )


@dataclass(frozen=True)
class Rule:
    """One Lexicon validation rule of the catalogue, and where the PDS-known record types can break it.

    ``breaks`` lists ``(constraint, kind)`` pairs of :class:`~atcheck.schema.generate.Mutation` (``kind`` is
    the data-model kind of the value changed); ``record_types`` are record types of the Lexicons every PDS
    bundles (``app.bsky.*``) whose schema has such a place, so that every draw can break this rule and no
    other.
    """

    requirement: str
    summary: str
    breaks: frozenset[tuple[str, str]]
    record_types: tuple[str, ...]

    def matches(self, constraint: str, kind: str) -> bool:
        return (constraint, kind) in self.breaks or (constraint, "*") in self.breaks


RULES = (
    Rule(
        "LEX-VAL-02",
        "a required field removed, or null where the field is not nullable",
        frozenset({("required", "*"), ("nullable", "*")}),
        ("app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow", "app.bsky.graph.list"),
    ),
    Rule(
        "LEX-VAL-03",
        "an integer past its minimum or maximum",
        frozenset({("minimum", "integer"), ("maximum", "integer")}),
        ("app.bsky.feed.post", "app.bsky.graph.starterpack"),
    ),
    Rule(
        "LEX-VAL-04",
        "a string past its minLength or maxLength in UTF-8 bytes",
        frozenset({("minLength", "string"), ("maxLength", "string")}),
        ("app.bsky.feed.post", "app.bsky.actor.profile", "app.bsky.graph.list", "app.bsky.graph.starterpack"),
    ),
    Rule(
        "LEX-VAL-05",
        "a string past its maxGraphemes",
        frozenset({("maxGraphemes", "string"), ("minGraphemes", "string")}),
        ("app.bsky.feed.post", "app.bsky.actor.profile", "app.bsky.graph.starterpack"),
    ),
    Rule(
        "LEX-VAL-07",
        "a string that breaks its format (did, handle, at-uri, datetime, cid, language...)",
        frozenset({("format", "string")}),
        ("app.bsky.feed.like", "app.bsky.feed.repost", "app.bsky.graph.follow", "app.bsky.graph.listitem"),
    ),
    Rule(
        "LEX-VAL-09",
        "an array past its maxLength in elements",
        frozenset({("maxLength", "array"), ("minLength", "array")}),
        ("app.bsky.feed.post", "app.bsky.feed.threadgate", "app.bsky.feed.postgate"),
    ),
    Rule(
        "LEX-VAL-12",
        "a union variant without $type, of another type, or outside a closed union",
        frozenset({("$type", "object"), ("closed", "object")}),
        (
            "app.bsky.feed.threadgate",
            "app.bsky.feed.postgate",
            "app.bsky.actor.profile",
            "app.bsky.feed.post",
        ),
    ),
)
"""Each rule that records of the bundled Lexicons can break, as :func:`records_breaking` draws them."""


def records_breaking(rule: Rule) -> st.SearchStrategy[tuple[str, dict[str, Any], Mutation]]:
    """``(nsid, record, mutation)``: a record valid but for one break of ``rule`` (no blobs)."""
    lexicons = _lexicons()

    def of_type(nsid: str) -> st.SearchStrategy[tuple[str, dict[str, Any], Mutation]]:
        pairs = invalid_from_lexicon(nsid, lexicons, only=rule.matches)
        usable = pairs.filter(lambda pair: not has_blob(pair[0]) and not pair[1].has_default)
        return usable.map(lambda pair: (nsid, pair[0], pair[1]))

    return st.sampled_from(rule.record_types).flatmap(of_type)
