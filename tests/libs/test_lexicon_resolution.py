"""The Lexicon resolution checks can fail: a small resolver of ours that follows the spec passes every row,
and each version of it with one flaw (recursing up the DNS tree, taking a TXT value without ``did=`` or
with no DID after it, looking the authority up unreversed, reading any repository, not checking the record's
``id`` and ``lexicon``) fails the row that flaw breaks, naming the case. atcheck's real DNS server answers;
the publisher is a dict."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from dnslib import QTYPE, DNSRecord

from atcheck.accounts import Account
from atcheck.libs.cases_resolution import (
    RESOLUTION_ROWS,
    SCHEMA_COLLECTION,
    Resolution,
    judge_resolution,
    lookup_name,
)
from atcheck.libs.harness import Answer
from atcheck.oracle.cbor import cid_for_record
from atcheck.suite.lexicon_resolution import LexiconScene, check_resolutions, resolution_cases
from atcheck.suite.libs import Disagreement, Library
from atcheck.suite.resolvers import ZONE, LocalDns
from atcheck.syntax import SyntaxViolation, check_did
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient


def _account(did: str) -> Account:
    return Account(
        did=did, handle="x.test", access_jwt="-", refresh_jwt=None, client=XrpcClient("http://127.0.0.1:9")
    )


@dataclass
class FakeScene(LexiconScene):
    """The scene with its repositories in a dict instead of a PDS."""

    repos: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def publish(
        self,
        record: Mapping[str, Any],
        rkey: str,
        *,
        other_repo: bool = False,
        collection: str = SCHEMA_COLLECTION,
        may_refuse: bool = False,
    ) -> str | None:
        who = self.other if other_repo else self.author
        self.repos[(who.did, collection, rkey)] = dict(record)
        return cid_for_record(dict(record))


def _txt(server: str, name: str) -> list[str] | None:
    """TXT values at ``name`` from atcheck's DNS server (None: NXDOMAIN)."""
    host, port = server.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(DNSRecord.question(name, "TXT").pack(), (host, int(port)))
        reply = DNSRecord.parse(sock.recv(4096))
    if reply.header.rcode != 0:
        return None
    return [b"".join(rr.rdata.data).decode() for rr in reply.rr if rr.rtype == QTYPE.TXT]


@dataclass
class FakeResolver:
    """A Lexicon resolver after the spec, or with one ``flaw``; it answers like a harness."""

    scene: FakeScene
    flaw: str = ""

    def _did_at(self, server: str, name: str) -> str | None:
        values = _txt(server, name) or []
        dids = [v.removeprefix("did=") for v in values if v.startswith("did=")]
        if self.flaw == "bare-did":
            dids += [v for v in values if v.startswith("did:")]
        if len(dids) != 1:
            return None
        if self.flaw == "unchecked-did":
            return dids[0]
        try:
            check_did(dids[0])
        except SyntaxViolation:
            return None
        return dids[0]

    def _authority(self, nsid: str, server: str) -> str | None:
        if self.flaw == "unreversed":
            return self._did_at(server, "_lexicon." + ".".join(nsid.split(".")[:-1]))
        name = lookup_name(nsid)
        did = self._did_at(server, name)
        while did is None and self.flaw == "recursing" and name.count(".") > ZONE.count(".") + 1:
            name = "_lexicon." + name.split(".", 2)[2]
            did = self._did_at(server, name)
        return did

    def request(self, op: str, args: Mapping[str, str]) -> Answer:
        if self.flaw == "none":
            return Answer("unsupported")
        did = self._authority(args["nsid"], args["dns"])
        if did is None:
            return Answer("error", "no authority")
        if op == "lexicon.authority":
            return Answer("result", did)
        found = [
            (repo, record)
            for (repo, collection, rkey), record in self.scene.repos.items()
            if collection == SCHEMA_COLLECTION
            and rkey == args["nsid"]
            and (repo == did or self.flaw == "any-repo")
        ]
        if not found:
            return Answer("error", "record not found")
        if self.flaw == "any-repo":  # whichever copy it meets first: here, the other repository's
            found.sort(key=lambda hit: hit[0] == did)
        repo, record = found[0]
        if self.flaw != "no-id-check" and (record.get("id") != args["nsid"] or record.get("lexicon") != 1):
            return Answer("error", "invalid schema record")
        uri = f"at://{repo}/{SCHEMA_COLLECTION}/{args['nsid']}"
        return Answer("result", {"uri": uri, "cid": cid_for_record(record), "schema": record})


@dataclass
class FakeTarget:
    recorder: EvidenceRecorder = field(default_factory=EvidenceRecorder)
    name: str = "fake-resolver"


@dataclass
class FakeLibrary:
    harness: FakeResolver
    name: str = "fake-resolver"
    target: FakeTarget = field(default_factory=FakeTarget)


@pytest.fixture
def scene() -> Iterator[FakeScene]:
    with LocalDns() as dns:
        yield FakeScene(
            author=_account("did:plc:authorauthorauthorauthor"),
            other=_account("did:plc:otherotherotherotherothe"),
            dns=dns,
            plc_url="http://127.0.0.1:9",
        )


def _check(scene: FakeScene, flaw: str, row: str) -> list[str]:
    cases = [c for c in resolution_cases(scene) if c.requirement == row]
    lib = FakeLibrary(FakeResolver(scene, flaw))
    notes: list[str] = []
    check_resolutions(cast(Library, lib), scene, cases, row, notes.append)
    return notes


@pytest.mark.parametrize("row", RESOLUTION_ROWS)
def test_a_resolver_after_the_spec_passes_every_row(scene: FakeScene, row: str) -> None:
    notes = _check(scene, "", row)
    assert notes and "cases agree (0 unsupported)" in notes[0]


@pytest.mark.parametrize(
    ("flaw", "row", "case"),
    [
        ("recursing", "LEX-RES-02", "parent-only/authority"),
        ("recursing", "LEX-RES-02", "grandparent-only/resolve"),
        ("bare-did", "LEX-RES-01", "bare-did"),
        ("unreversed", "LEX-RES-01", "short-authority"),
        ("unchecked-did", "LEX-RES-01", "not-a-did"),
        ("any-repo", "LEX-RES-03", "other-repo-only"),
        ("any-repo", "LEX-RES-03", "in-both-repos"),
        ("no-id-check", "LEX-RES-08", "id-mismatch"),
        ("no-id-check", "LEX-RES-08", "lexicon-2"),
    ],
)
def test_each_flaw_fails_its_row_naming_the_case(scene: FakeScene, flaw: str, row: str, case: str) -> None:
    with pytest.raises(Disagreement) as failed:
        _check(scene, flaw, row)
    assert f"\n  {case} [" in str(failed.value)
    assert "DNS asked:" in str(failed.value)


def test_a_recursing_resolver_is_caught_even_where_it_finds_nothing(scene: FakeScene) -> None:
    """The exact-name control resolves either way; the lookups of parent names are what give it away."""
    with pytest.raises(Disagreement) as failed:
        _check(scene, "recursing", "LEX-RES-02")
    assert "child-only/authority" in str(failed.value)
    assert "only _lexicon.sub.l" in str(failed.value)


def test_a_resolver_without_the_ops_is_skipped(scene: FakeScene) -> None:
    with pytest.raises(pytest.skip.Exception, match=r"has no routine for lexicon\.authority"):
        _check(scene, "none", "LEX-RES-01")


def test_cases_the_publisher_could_not_set_up_are_named_and_skipped(scene: FakeScene) -> None:
    cases = [c for c in resolution_cases(scene) if c.requirement == "LEX-RES-08"]
    scene.not_set_up.update({c.key: "the PDS refused to store the record" for c in cases})
    lib = FakeLibrary(FakeResolver(scene))
    with pytest.raises(pytest.skip.Exception, match="not set up: id-mismatch"):
        check_resolutions(cast(Library, lib), scene, cases, "LEX-RES-08")


def test_every_row_has_cases_that_must_resolve_and_cases_that_must_not(scene: FakeScene) -> None:
    cases = resolution_cases(scene)
    for row in RESOLUTION_ROWS:
        mine = [c for c in cases if c.requirement == row]
        assert any(c.did is None for c in mine), row
        assert row == "LEX-RES-08" or any(c.did is not None for c in mine), row
    assert len({c.key for c in cases}) == len(cases)


def test_queries_outside_the_zone_are_not_the_librarys_lookups() -> None:
    """A system resolver appends its search domains after NXDOMAIN; those names are not parent lookups."""
    case = Resolution(
        "k",
        "lexicon.authority",
        "atcheck.names.l1.record",
        "LEX-RES-02",
        "",
        only_lookup="_lexicon.l1.names.atcheck",
    )
    queries = [("_lexicon.l1.names.atcheck", "TXT"), ("_lexicon.l1.names.atcheck.corp.example", "TXT")]
    assert judge_resolution(case, Answer("error", "nx"), queries, ZONE).status == "agree"
    queries.append(("_lexicon.names.atcheck", "TXT"))
    assert judge_resolution(case, Answer("error", "nx"), queries, ZONE).status == "disagree"


@dataclass
class FakeStack:
    error: Exception
    asked: list[str] = field(default_factory=list)

    def helper(self, role: Any, asker: str) -> Any:
        self.asked.append(asker)
        raise self.error


@dataclass
class ProbeHarness:
    """Answers the support probe: a result kind for both resolution ops."""

    kind: str

    def batch(self, requests: Any) -> list[Answer]:
        return [Answer(self.kind, "no") for _ in requests]  # type: ignore[arg-type]


def _helper(stack: FakeStack) -> Any:
    """What the ``helper_service`` fixture hands the scene: the stack's helper, for the target under test."""
    return lambda role: stack.helper(role, "lib-fake")


def test_without_a_reference_the_library_is_not_run_with_the_reason() -> None:
    from atcheck.errors import LaunchError
    from atcheck.suite.lexicon_resolution import lexicon_scene

    stack = FakeStack(LaunchError("Node 22 is not installed"))
    lib = FakeLibrary(cast(FakeResolver, ProbeHarness("error")))
    with (
        pytest.raises(pytest.skip.Exception, match=r"^not run: .*Node 22 is not installed"),
        lexicon_scene(_helper(stack), cast(Any, FakeTarget()), cast(Library, lib)),
    ):
        pass
    assert stack.asked  # it did try


def test_a_library_without_a_resolver_is_skipped_before_anything_starts() -> None:
    from atcheck.errors import LaunchError
    from atcheck.suite.lexicon_resolution import lexicon_scene

    stack = FakeStack(LaunchError("must not be asked"))
    lib = FakeLibrary(cast(FakeResolver, ProbeHarness("unsupported")))
    with (
        pytest.raises(pytest.skip.Exception, match="has no Lexicon resolver"),
        lexicon_scene(_helper(stack), cast(Any, FakeTarget()), cast(Library, lib)),
    ):
        pass
    assert not stack.asked
