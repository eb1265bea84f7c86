"""Lexicon resolution through a library's resolver, against schemas and DNS records atcheck publishes.

No server target atcheck runs resolves Lexicons over the wire (none serves
``com.atproto.lexicon.resolveLexicon``), but libraries do. So atcheck plays every other part itself:

- the *publisher*: two accounts on the reference PDS (a helper of the library target, started like a borrowed
  PLC: :meth:`atcheck.targets.stack.Stack.helper`) hold the ``com.atproto.lexicon.schema`` records;
- the *DNS*: :class:`atcheck.suite.resolvers.LocalDns` (UDP on 127.0.0.1) serves the ``_lexicon`` TXT
  records, under :data:`atcheck.suite.resolvers.ZONE`;

then asks the library through its harness (``lexicon.authority``: NSID -> DID; ``lexicon.resolve``: NSID ->
the record, its AT-URI and CID), pointed at that DNS server and the run's PLC, and judges every answer with
:func:`atcheck.libs.cases_resolution.judge_resolution`, the names the library asked the DNS server as
evidence. The cases themselves are :func:`atcheck.libs.cases_resolution.resolution_cases`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from atcheck.accounts import Account, AccountFactory
from atcheck.checks import expect_ok
from atcheck.errors import AtcheckError
from atcheck.libs.cases_resolution import (
    SCHEMA_COLLECTION,
    Resolution,
    judge_resolution,
    lexicon_queries,
    resolution_cases,
)
from atcheck.libs.harness import Answer, HarnessBroke, Request
from atcheck.oracle.cbor import cid_for_record
from atcheck.report.model import Exchange
from atcheck.suite.libs import Disagreement, Library
from atcheck.suite.resolvers import ZONE, LocalDns
from atcheck.suite.target import HelperService, TargetDidNotStart, TargetUnderTest
from atcheck.targets.model import Role
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient

__all__ = [
    "LexiconScene",
    "Resolution",
    "check_resolutions",
    "lexicon_scene",
    "resolution_cases",
]

_OPS = ("lexicon.authority", "lexicon.resolve")


@dataclass
class LexiconScene:
    """Where the cases are published: the authority's repo and another, atcheck's DNS, the run's PLC."""

    author: Account
    other: Account
    dns: LocalDns
    plc_url: str
    zone: str = ZONE
    not_set_up: dict[str, str] = field(default_factory=dict)

    @property
    def author_did(self) -> str:
        return self.author.did

    def group(self, *below: str) -> str:
        """A fresh NSID authority under atcheck's zone: ``atcheck.names.l<hex>[.below...]``."""
        return ".".join([*reversed(self.zone.split(".")), f"l{secrets.token_hex(4)}", *below])

    def point(self, name: str, value: str) -> None:
        self.dns.txt.setdefault(name.lower(), []).append(value)

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
        body = {"repo": who.did, "collection": collection, "rkey": rkey, "record": dict(record)}
        resp = who.client.procedure("com.atproto.repo.putRecord", body)
        if resp.status != 200:
            if may_refuse:
                return None
            raise TargetDidNotStart(
                f"the reference PDS would not store the schema record {collection}/{rkey}: "
                f"{resp.describe()}: {resp.text[:300]}"
            )
        expect_ok(resp)
        return cid_for_record(dict(record))

    def args(self, case: Resolution) -> dict[str, str]:
        """A request's args: the NSID, and where the library must look (atcheck's DNS, the run's PLC)."""
        return {"nsid": case.nsid, "dns": self.dns.address, "plc": self.plc_url}


def _resolves_at_all(lib: Library) -> bool:
    """Whether the harness has any resolution routine (asked with a DNS port nothing listens on, so a
    supported op answers an error at once)."""
    probe = {"nsid": "atcheck.names.probe.record", "dns": "127.0.0.1:9", "plc": "http://127.0.0.1:9"}
    try:
        answers = lib.harness.batch(Request(op, probe) for op in _OPS)
    except HarnessBroke as exc:
        raise TargetDidNotStart(f"the harness broke on a lexicon resolution probe: {exc}") from None
    return any(a.kind != "unsupported" for a in answers)


@contextmanager
def lexicon_scene(
    helper_service: HelperService, target: TargetUnderTest, lib: Library
) -> Iterator[LexiconScene]:
    """Two accounts on the reference PDS (the run's, or started as a helper), atcheck's DNS server running.

    Skips, with the reason, when the library has no resolver (before starting anything), or when the
    reference cannot start here (no Node, say): the library is then not checked, rather than failed.
    """
    if not _resolves_at_all(lib):
        pytest.skip(
            f"{lib.name} has no Lexicon resolver (its harness answers {' and '.join(_OPS)} unsupported)"
        )
    try:
        manifest, pds = helper_service(Role.PDS)
        _, plc = helper_service(Role.PLC)
    except AtcheckError as exc:
        pytest.skip(f"not run: no PDS to publish Lexicons on (the reference did not start: {exc})")
    client = XrpcClient(pds.url, recorder=EvidenceRecorder())  # publishing is set-up, not evidence
    factory = AccountFactory(
        pds, client, provisioning=manifest.provisioning, handle_domain=manifest.handle_domain
    )
    try:
        try:
            author, other = factory(), factory()
        except AtcheckError as exc:
            raise TargetDidNotStart(f"could not get accounts on the reference PDS: {exc}") from None
        with LocalDns() as dns:
            yield LexiconScene(author=author, other=other, dns=dns, plc_url=plc.url)
    finally:
        for made in (client, *(a.client for a in factory.made)):
            made.close()


def _evidence(lib: Library, scene: LexiconScene, case: Resolution, answer: Answer, detail: str) -> Exchange:
    request = json.dumps({"op": case.op, "args": scene.args(case)}, ensure_ascii=True)
    response = json.dumps({answer.kind: answer.value if answer.kind != "unsupported" else True})
    return Exchange(
        method="HARNESS",
        url=f"harness:{lib.name} {case.op} ({case.key})",
        status=None,
        request_body=request[:4000],
        response_body=f"{response[:4000]}\n-- {detail}",
    )


def check_resolutions(
    lib: Library,
    scene: LexiconScene,
    cases: list[Resolution],
    rule: str,
    note: Callable[[str], None] | None = None,
) -> None:
    """Ask the library every case, one at a time (so each DNS query belongs to one case), and fail listing
    every answer the spec contradicts, with the ``_lexicon`` names the library asked the DNS server."""
    ready = [c for c in cases if c.key not in scene.not_set_up]
    missing = "".join(f"; not set up: {c.key} ({scene.not_set_up[c.key]})" for c in cases if c not in ready)
    if not ready:
        pytest.skip(f"no case of {rule} could be set up{missing}")
    disagreements: list[str] = []
    unsupported = 0
    for case in ready:
        before = len(scene.dns.queries)
        try:
            answer = lib.harness.request(case.op, scene.args(case))
        except HarnessBroke as exc:
            raise TargetDidNotStart(f"the harness broke on {case.show()} ({case.key}): {exc}") from None
        asked = list(scene.dns.queries[before:])
        verdict = judge_resolution(case, answer, asked, scene.zone)
        if verdict.status == "unsupported":
            unsupported += 1
        elif verdict.status == "disagree":
            looked = ", ".join(lexicon_queries(asked, scene.zone)) or "no _lexicon name"
            detail = f"{verdict.detail} (DNS asked: {looked})"
            disagreements.append(f"{case.key} [{case.why}]: {case.show()} -> {detail}")
            lib.target.recorder.record(_evidence(lib, scene, case, answer, detail))
    if unsupported == len(ready):
        ops = sorted({c.op for c in ready})
        pytest.skip(f"{lib.name} has no routine for {', '.join(ops)} (its harness answers unsupported)")
    judged = len(ready) - unsupported
    if disagreements:
        listed = "\n  ".join(disagreements)
        raise Disagreement(
            f"expected {lib.name}'s Lexicon resolver to follow {rule} on every case; "
            f"{len(disagreements)} of {judged} cases disagree:\n  {listed}{missing}"
        )
    if note is not None:
        note(f"{judged}/{judged} resolution cases agree ({unsupported} unsupported){missing}")
