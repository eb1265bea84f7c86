"""The scripted stream: frames in order, and what a relay downstream must show for each of them.

A :class:`Script` is built once, before any relay connects (every DID is registered at the PLC first), so
the same bytes are served to whoever subscribes. Each frame records what it is (kind, DID, rev, commit
CID), whether it is an honest event that a relay must pass on, or the one event of a hostile case
(:class:`Marked`), and whether it is *poison* (``once``): a frame that breaks the connection (bad CBOR, an
oversize frame) is sent once and never replayed, so a relay that reconnects moves on. Every frame of a
hostile case is poison in this sense: a relay may drop the connection over any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from atcheck.oracle.cbor import Value
from atcheck.oracle.cid import CID
from atcheck.upstream.frames import account_body, commit_body, encode_frame, identity_body
from atcheck.upstream.plc import PlcIdentity, register
from atcheck.upstream.repo import CommitDraft, EmulatedRepo, TidClock, Write

__all__ = ["EventRef", "Frame", "Marked", "Script", "ScriptBuilder"]


@dataclass(frozen=True)
class EventRef:
    """How an event is recognised in a relay's output: its type, DID, and for commits the rev and CID."""

    kind: str
    did: str
    rev: str | None = None
    commit: CID | None = None

    def matches(self, kind: str, body: dict[str, Value]) -> bool:
        if kind != self.kind:
            return False
        did = body.get("repo") if kind == "#commit" else body.get("did")
        if did != self.did:
            return False
        if self.rev is not None and body.get("rev") != self.rev:
            return False
        return self.commit is None or body.get("commit") == self.commit

    def describe(self) -> str:
        parts = [self.kind, self.did]
        if self.rev is not None:
            parts.append(f"rev {self.rev}")
        if self.commit is not None:
            parts.append(f"commit {self.commit}")
        return " ".join(parts)


@dataclass(frozen=True)
class Frame:
    data: bytes
    seq: int
    ref: EventRef
    case: str | None = None
    """The hostile case this frame belongs to (None: part of the honest background)."""
    once: bool = False


@dataclass(frozen=True)
class Marked:
    """An event of a hostile case, and whether the relay must pass it on (``forward``) or not."""

    case: str
    ref: EventRef
    forward: bool


@dataclass
class Script:
    frames: list[Frame] = field(default_factory=list)
    marked: list[Marked] = field(default_factory=list)
    must_forward: list[EventRef] = field(default_factory=list)
    """Honest ``#commit`` events: a relay must pass on every one of them."""
    repos: dict[str, EmulatedRepo] = field(default_factory=dict)
    """The accounts this emulator hosts (it serves their honest state over the sync endpoints)."""
    sentinel: EventRef | None = None
    """The last honest commit: once a relay has passed it on, the whole script has been processed."""


class ScriptBuilder:
    """Registers accounts at the PLC and appends frames with increasing ``seq``."""

    def __init__(self, plc: httpx.Client, plc_url: str, pds_url: str, handle_domain: str = ".test") -> None:
        self.plc = plc
        self.plc_url = plc_url
        self.pds_url = pds_url
        self.handle_domain = handle_domain
        self.clock = TidClock()
        self.script = Script()
        self.seq = 0
        self._accounts = 0

    # -- accounts -----------------------------------------------------------------------------------------

    def identity(self, label: str, pds_url: str | None = None) -> PlcIdentity:
        self._accounts += 1
        handle = f"{label}-{self._accounts}{self.handle_domain}".lower()
        return register(self.plc, self.plc_url, handle, pds_url or self.pds_url)

    def account(self, label: str, *, hosted: bool = True, pds_url: str | None = None) -> EmulatedRepo:
        """A new account: ``#identity``, ``#account`` (active), an empty genesis commit, then two records.

        ``hosted=False`` (a DID whose document names another host) still streams the same events, but
        none of them is expected downstream.
        """
        repo = EmulatedRepo(self.identity(label, pds_url), self.clock)
        if hosted:
            self.script.repos[repo.did] = repo
        self.emit("#identity", identity_body(repo.did, repo.identity.handle, self.next_seq()), repo.did)
        self.emit("#account", account_body(repo.did, self.next_seq()), repo.did)
        self.commit(repo, [], must_forward=hosted)
        self.commit(
            repo,
            [
                ("create", "com.example.atcheck.post/aaaa", _record("first")),
                ("create", "com.example.atcheck.post/bbbb", _record("second")),
            ],
            must_forward=hosted,
        )
        return repo

    # -- frames -------------------------------------------------------------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def emit(
        self,
        kind: str,
        body: dict[str, Value],
        did: str,
        *,
        case: str | None = None,
        once: bool = False,
        data: bytes | None = None,
        ref: EventRef | None = None,
    ) -> Frame:
        seq = body.get("seq")
        assert isinstance(seq, int)
        frame = Frame(
            data if data is not None else encode_frame(kind, body),
            seq,
            ref or EventRef(kind, did),
            case,
            once or case is not None,
        )
        self.script.frames.append(frame)
        return frame

    def commit(self, repo: EmulatedRepo, writes: list[Write], *, must_forward: bool = True) -> CommitDraft:
        """An honest commit: applied to the repo, streamed, and (by default) expected downstream."""
        draft = repo.prepare(writes)
        repo.apply(draft)
        ref = commit_ref(draft)
        self.emit("#commit", commit_body(draft, self.next_seq()), repo.did, ref=ref)
        if must_forward:
            self.script.must_forward.append(ref)
        return draft

    def hostile(
        self,
        case: str,
        draft: CommitDraft,
        *,
        forward: bool = False,
        tamper: Callable[[dict[str, Value]], None] | None = None,
        raw: Callable[[bytes], bytes] | None = None,
        seq: int | None = None,
        ref: EventRef | None = None,
    ) -> Frame:
        """Stream a hostile case's commit (never applied); ``tamper`` edits the payload, ``raw`` the bytes.

        Like every frame of a case, it is sent once only: a relay may rightly drop the connection over it,
        and a replay after the reconnect would make it drop the connection again, forever.
        """
        body = commit_body(draft, seq if seq is not None else self.next_seq())
        if tamper is not None:
            tamper(body)
        data = encode_frame("#commit", body)
        if raw is not None:
            data = raw(data)
        ref = ref or commit_ref(draft)
        self.script.marked.append(Marked(case, ref, forward))
        return self.emit("#commit", body, draft.did, case=case, data=data, ref=ref)

    def mark(self, case: str, ref: EventRef, *, forward: bool = False) -> None:
        self.script.marked.append(Marked(case, ref, forward))


def commit_ref(draft: CommitDraft) -> EventRef:
    return EventRef("#commit", draft.did, draft.rev, draft.commit_cid)


def _record(text: str) -> dict[str, Value]:
    return {"$type": "com.example.atcheck.post", "text": text, "createdAt": "2026-01-01T00:00:00.000Z"}


def record(text: str) -> dict[str, Value]:
    """A small record of the collection the emulator writes (no Lexicon: relays must not validate one)."""
    return _record(text)
