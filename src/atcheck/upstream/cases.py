"""The hostile upstream's cases, as data: what is sent, the rule it breaks, and what a relay must do.

The first twelve are the kinds issue #8 names; nine more cover further rules (a future rev, an inactive
account, a high-S signature, oversize ``blocks``, a field that contradicts the signed commit, a ``#sync``
with a bad signature, an unknown frame type, and two events a relay must pass on: a record that breaks its
Lexicon, and a commit with the deprecated ``tooBig`` flag set).

Every case gets its own account (its own DID), so the cases cannot disturb one another: the account first
streams honest events (``#identity``, ``#account``, a genesis commit, a commit with two records), then the
case's one hostile event, then an honest commit that a relay must still pass on. The rules are paraphrased
from the sync and event-stream specs and proposal 0006 (sync v1.1). Where the spec makes a broken chain a
*discontinuity* rather than an invalid event (a wrong ``since`` or ``prevData`` on an otherwise valid
commit), relays are told to pass the commit through, and the case expects exactly that.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from atcheck.oracle.build import sign_commit
from atcheck.oracle.cbor import Value
from atcheck.oracle.crypto import PrivateKey
from atcheck.upstream.frames import account_body, now_iso, sync_body
from atcheck.upstream.repo import EmulatedRepo, tid
from atcheck.upstream.script import EventRef, ScriptBuilder, commit_ref, record

__all__ = ["CASES", "Case", "build_script"]

OVERSIZE_FRAME_BYTES = 6_000_000
"""Above the 5 MB hard limit on a firehose frame however a megabyte is counted (5,000,000 or 5 MiB)."""

SYNC_CHECKLIST = "sync §Message Validation Checklist"


@dataclass(frozen=True)
class Case:
    name: str
    sends: str
    """What the emulator streams, in one line."""
    rule: str
    """The rule the event breaks (our words) and what a relay must therefore do."""
    source: str
    requirements: tuple[str, ...]
    forward: bool
    """True when the spec says a relay passes the event on; False when it must drop it."""
    build: Callable[[ScriptBuilder, Case], None]

    @property
    def expectation(self) -> str:
        return "pass through" if self.forward else "drop"


def _post(n: int) -> tuple[str, str, Value]:
    return ("create", f"com.example.atcheck.post/c{n:03d}", record(f"post {n}"))


def _trailing(b: ScriptBuilder, repo: EmulatedRepo) -> None:
    """An honest commit after the hostile event: the relay must keep passing the account's commits."""
    b.commit(repo, [_post(900)])


def _bad_signature(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1)])
    sig = draft.commit["sig"]
    assert isinstance(sig, bytes)
    flipped = bytes([sig[0], sig[1] ^ 0x01, *sig[2:]])
    b.hostile(case.name, draft.resign({**draft.commit, "sig": flipped}))
    _trailing(b, repo)


def _wrong_key(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    b.hostile(case.name, repo.prepare([_post(1)], key=PrivateKey.generate("k256")))
    _trailing(b, repo)


def _rev_not_increasing(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    head = repo.head
    assert head is not None
    b.hostile(case.name, repo.prepare([_post(1)], rev=head.rev))
    _trailing(b, repo)


def _since_mismatch(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    # `since` names a rev this repo never had; the commit is otherwise the honest next one.
    b.hostile(case.name, repo.prepare([_post(1)], since=b.clock.next()), forward=True)
    _trailing(b, repo)


def _prev_data_mismatch(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    genesis_state = EmulatedRepo(repo.identity, b.clock)
    # A fork: a commit built on the genesis (empty) tree instead of the current one. It is internally
    # consistent (its ops invert to its own prevData) and its `since` is right, but prevData is not the
    # data CID of the account's previous commit.
    genesis_state.apply(repo.history[0])
    head = repo.head
    assert head is not None
    b.hostile(case.name, genesis_state.prepare([_post(1)], since=head.rev), forward=True)
    _trailing(b, repo)


def _ops_do_not_invert(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1), _post(2)])

    def drop_an_op(body: dict[str, Value]) -> None:
        ops = body["ops"]
        assert isinstance(ops, list)
        body["ops"] = ops[:1]

    b.hostile(case.name, draft, tamper=drop_an_op)
    _trailing(b, repo)


def _missing_blocks(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1)])
    created = draft.ops[0]["cid"]
    draft.blocks = {cid: data for cid, data in draft.blocks.items() if cid != created}
    b.hostile(case.name, draft)
    _trailing(b, repo)


def _oversize_frame(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)

    def pad(body: dict[str, Value]) -> None:
        # An unknown field (consumers ignore unknown fields) makes an otherwise valid commit too big.
        body["atcheckPadding"] = bytes(OVERSIZE_FRAME_BYTES)

    b.hostile(case.name, repo.prepare([_post(1)]), tamper=pad)
    _trailing(b, repo)


def _foreign_host(b: ScriptBuilder, case: Case) -> None:
    elsewhere = "http://localhost:9"  # the discard port: a host this emulator is not
    repo = b.account(case.name, hosted=False, pds_url=elsewhere)
    b.mark(case.name, EventRef("#account", repo.did))
    b.hostile(case.name, repo.prepare([_post(1)]))
    for frame in b.script.frames:
        if frame.ref.kind == "#commit" and frame.ref.did == repo.did and frame.case is None:
            b.mark(case.name, frame.ref)


def _malformed_cbor(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)

    def truncate(data: bytes) -> bytes:
        return data[: len(data) - 40]

    b.hostile(case.name, repo.prepare([_post(1)]), raw=truncate)
    _trailing(b, repo)


def _bad_seq(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    # The account's previous frame had seq b.seq; this one repeats it. The frame is otherwise honest.
    b.hostile(case.name, repo.prepare([_post(1)]), seq=b.seq)
    _trailing(b, repo)


def _unknown_did_account(b: ScriptBuilder, case: Case) -> None:
    did = "did:plc:" + "".join("abcdefghijklmnopqrstuvwxyz234567"[c % 32] for c in os.urandom(24))
    b.mark(case.name, EventRef("#account", did))
    b.emit("#account", account_body(did, b.next_seq()), did, case=case.name)


def _future_rev(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    an_hour_ahead = tid(time.time_ns() // 1000 + 3_600_000_000)
    b.hostile(case.name, repo.prepare([_post(1)], rev=an_hour_ahead))
    _trailing(b, repo)


def _inactive_account(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    b.emit("#account", account_body(repo.did, b.next_seq(), active=False, status="deactivated"), repo.did)
    b.hostile(case.name, repo.prepare([_post(1)]))
    b.emit("#account", account_body(repo.did, b.next_seq()), repo.did)
    _trailing(b, repo)


def _high_s(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1)])
    unsigned = {k: v for k, v in draft.commit.items() if k != "sig"}
    b.hostile(case.name, draft.resign(sign_commit(unsigned, repo.identity.signing_key, low_s=False)))
    _trailing(b, repo)


def _oversize_blocks(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    # Three records of 680,000 bytes: each under the 1,000,000-byte record limit, the frame far under 5 MB,
    # but `blocks` just over its 2,000,000-byte limit (and under 2 MiB, so a decoder's own byte-string cap,
    # e.g. cbor-gen's 2,097,152, is not what catches it).
    big = [
        ("create", f"com.example.atcheck.post/big{n}", {**record(f"big {n}"), "pad": bytes(680_000)})
        for n in range(3)
    ]
    b.hostile(case.name, repo.prepare(big))
    _trailing(b, repo)


def _field_mismatch(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1)])
    claimed = b.clock.next()  # a later rev than the signed commit's

    def claim(body: dict[str, Value]) -> None:
        body["rev"] = claimed

    b.hostile(case.name, draft, tamper=claim, ref=EventRef("#commit", repo.did, None, draft.commit_cid))
    _trailing(b, repo)


def _sync_bad_signature(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1)])
    draft = draft.resign(
        sign_commit({k: v for k, v in draft.commit.items() if k != "sig"}, PrivateKey.generate())
    )
    ref = EventRef("#sync", repo.did, draft.rev)
    b.mark(case.name, ref)
    b.emit("#sync", sync_body(draft, b.next_seq()), repo.did, case=case.name, ref=ref)
    _trailing(b, repo)


def _unknown_type(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    kind = "#atcheckUnknown"
    ref = EventRef(kind, repo.did)
    b.mark(case.name, ref)
    body: dict[str, Value] = {"seq": b.next_seq(), "did": repo.did, "time": now_iso()}
    b.emit(kind, body, repo.did, case=case.name, ref=ref)
    _trailing(b, repo)


def _lexicon_invalid_record(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    # Valid in the data model, invalid for its Lexicon: text must be a string, createdAt a datetime.
    post: dict[str, Value] = {"$type": "app.bsky.feed.post", "text": 42, "createdAt": "yesterday"}
    draft = repo.prepare([("create", "app.bsky.feed.post/3l4qyfbbfj22c", post)])
    repo.apply(draft)  # an honest commit: the repo holds it, and later commits chain from it
    b.hostile(case.name, draft, forward=True)
    _trailing(b, repo)


def _too_big_flag(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([_post(1)])
    repo.apply(draft)

    def flag(body: dict[str, Value]) -> None:
        body["tooBig"] = True

    b.hostile(case.name, draft, forward=True, tamper=flag)
    _trailing(b, repo)


def _empty_commit(b: ScriptBuilder, case: Case) -> None:
    repo = b.account(case.name)
    draft = repo.prepare([])
    repo.apply(draft)
    b.hostile(case.name, draft, forward=True)
    _trailing(b, repo)


CASES: tuple[Case, ...] = (
    Case(
        "bad-signature",
        "a commit whose signature bytes are altered (one bit flipped)",
        "Commit signatures are checked with the account's current key; an event whose signature is "
        "conclusively invalid is rejected.",
        SYNC_CHECKLIST,
        ("SYNC-FH-10", "SYNC-FH-18"),
        False,
        _bad_signature,
    ),
    Case(
        "wrong-key",
        "a commit correctly signed, but with a key that is not the DID document's #atproto key",
        "The signature must verify with the signing key the DID document holds now (after one identity "
        "refresh); otherwise the event is rejected.",
        SYNC_CHECKLIST,
        ("SYNC-FH-10", "SYNC-FH-18"),
        False,
        _wrong_key,
    ),
    Case(
        "rev-not-increasing",
        "a valid commit whose rev equals the rev of the account's previous commit",
        "A #commit whose rev is lower than or equal to the last processed rev of the account is ignored.",
        SYNC_CHECKLIST,
        ("SYNC-FH-16",),
        False,
        _rev_not_increasing,
    ),
    Case(
        "since-mismatch",
        "the honest next commit, but `since` names a rev the repo never had",
        "A `since` that does not match the last rev is a discontinuity, not an invalid commit: the repo is "
        "marked out of sync, and a relay passes the commit through as-is (proposal 0006).",
        f"{SYNC_CHECKLIST}; proposal 0006 §Sync Boundary",
        ("SYNC-FH-16", "SYNC-FH-18"),
        True,
        _since_mismatch,
    ),
    Case(
        "prevdata-mismatch",
        "a self-consistent commit forked from an older tree: its prevData is not the previous commit's data",
        "A prevData that differs from the previous commit's `data` is a discontinuity: the repo is marked "
        "out of sync, and a relay passes the commit through as-is (proposal 0006).",
        f"{SYNC_CHECKLIST}; proposal 0006 §Sync Boundary",
        ("SYNC-FH-16", "SYNC-FH-18"),
        True,
        _prev_data_mismatch,
    ),
    Case(
        "ops-do-not-invert",
        "a commit of two creates whose `ops` lists only one of them",
        "Inverting the ops on the blocks must give prevData; a commit whose ops do not invert is invalid "
        "and a relay drops it.",
        f"{SYNC_CHECKLIST}; proposal 0006",
        # SHOULD, as the checklist and proposal 0006 word it for relays; SYNC-FH-08 (MUST) binds the producer.
        ("SYNC-FH-18",),
        False,
        _ops_do_not_invert,
    ),
    Case(
        "missing-blocks",
        "a commit whose CAR slice lacks the block of the record it creates",
        "Missing blocks make a commit invalid (repo structures must be valid); a relay drops it.",
        f"{SYNC_CHECKLIST}; proposal 0006",
        ("SYNC-FH-18",),
        False,
        _missing_blocks,
    ),
    Case(
        "oversize-frame",
        f"a valid commit padded with an unknown field to a {OVERSIZE_FRAME_BYTES:,}-byte frame",
        "Firehose frames have a hard limit of 5 MB; events beyond reasonable size limits are rejected.",
        "sync §Repository Event Stream; " + SYNC_CHECKLIST,
        ("SYNC-FH-02",),
        False,
        _oversize_frame,
    ),
    Case(
        "foreign-host",
        "an account whose DID document names another host (http://localhost:9) as its PDS",
        "A relay remembers which host is authoritative for each DID and rejects #commit, #sync and "
        "#account events that come from any other host.",
        SYNC_CHECKLIST,
        ("SYNC-FH-17",),
        False,
        _foreign_host,
    ),
    Case(
        "malformed-cbor",
        "a #commit frame cut 40 bytes short (its payload is not complete CBOR)",
        "Bad framing or bad CBOR means the consumer drops the connection; the broken event is not passed on.",
        "event-stream §Framing; " + SYNC_CHECKLIST,
        ("SYNC-ES-07", "SYNC-FH-18"),
        False,
        _malformed_cbor,
    ),
    Case(
        "bad-seq",
        "a valid commit whose `seq` repeats the previous frame's",
        "Out-of-order or duplicate seq numbers are an error: the consumer does not process the message "
        "and drops the connection.",
        "event-stream §Sequence Numbers",
        ("SYNC-ES-17",),
        False,
        _bad_seq,
    ),
    Case(
        "unknown-did-account",
        "an #account (active) event for a did:plc that was never registered",
        "A relay resolves every DID itself and reports hosting status only for accounts it hosts; an "
        "#account event for a DID with no identity is not passed on.",
        f"{SYNC_CHECKLIST}; account §Hosting Status",
        ("SYNC-FH-23",),
        False,
        _unknown_did_account,
    ),
    # -- beyond the twelve kinds of issue #8 ----------------------------------------------------------------
    Case(
        "future-rev",
        "a valid commit whose rev is a TID one hour in the future",
        "A #commit whose rev stands for a time beyond a clock-drift window of a few minutes is rejected.",
        SYNC_CHECKLIST,
        ("SYNC-FH-16",),
        False,
        _future_rev,
    ),
    Case(
        "inactive-account",
        "#account active=false (deactivated), a valid commit, then #account active=true",
        "Relays track each account's hosting status and ignore #commit and #sync for accounts that are not "
        "active.",
        f"{SYNC_CHECKLIST}; account §Hosting Status",
        ("SYNC-FH-15",),
        False,
        _inactive_account,
    ),
    Case(
        "high-s-signature",
        "a commit signed by the right key, but in the high-S form of the signature",
        "atproto signatures must be low-S; a verifier rejects the high-S twin of a valid signature, so "
        "the commit's signature is invalid.",
        "cryptography §Malleability; " + SYNC_CHECKLIST,
        ("CRY-SIG-02", "SYNC-FH-10"),
        False,
        _high_s,
    ),
    Case(
        "oversize-blocks",
        "a valid commit of three 680,000-byte records: `blocks` just over 2,000,000 bytes, frame under 5 MB",
        "The `blocks` field of a #commit has a hard limit of 2,000,000 bytes; events beyond the limits are "
        "rejected.",
        "sync §#commit; " + SYNC_CHECKLIST,
        ("SYNC-FH-06",),
        False,
        _oversize_blocks,
    ),
    Case(
        "field-mismatch",
        "a valid commit whose #commit `rev` field differs from the rev of the signed commit in `blocks`",
        "The message's fields are checked against the signed commit object, and a mismatch is rejected.",
        SYNC_CHECKLIST,
        ("SYNC-FH-04",),
        False,
        _field_mismatch,
    ),
    Case(
        "sync-bad-signature",
        "a #sync event whose commit is signed with a key that is not the account's",
        "Signatures are checked on #sync as on #commit; an event whose signature is conclusively invalid is "
        "rejected.",
        SYNC_CHECKLIST,
        ("SYNC-FH-10",),
        False,
        _sync_bad_signature,
    ),
    Case(
        "unknown-type",
        "a frame of an unknown type (`#atcheckUnknown`) for a hosted account, then an honest commit",
        "Consumers ignore frames with an unknown `t` (and go on with the stream); a relay does not pass "
        "them on.",
        "event-stream §Framing",
        ("SYNC-ES-07",),
        False,
        _unknown_type,
    ),
    Case(
        "lexicon-invalid-record",
        "an honest commit creating an app.bsky.feed.post whose text is a number and createdAt not a datetime",
        "Relays do not validate records against Lexicons: the commit is valid at the protocol layer, so it "
        "is passed on.",
        SYNC_CHECKLIST,
        ("SYNC-FH-18",),
        True,
        _lexicon_invalid_record,
    ),
    Case(
        "toobig-flag",
        "an honest commit whose deprecated `tooBig` flag is true",
        "`tooBig` is deprecated: producers set it false and consumers ignore it, so the commit is processed "
        "and passed on as any other.",
        "sync §#commit",
        ("SYNC-FH-24",),
        True,
        _too_big_flag,
    ),
    Case(
        "empty-commit",
        "an honest commit with no ops: the same MST root (`data` = `prevData`), a new rev and signature",
        "Empty commits are valid (the data is unchanged, only the rev and signature are new): the commit is "
        "processed and passed on as any other.",
        "repository §Commit Objects",
        ("REPO-COMMIT-07",),
        True,
        _empty_commit,
    ),
)


def build_script(b: ScriptBuilder, cases: tuple[Case, ...] = CASES) -> None:
    """The whole stream: an honest account, every case in order, then a last honest commit (sentinel)."""
    control = b.account("honest")
    b.commit(control, [("update", "com.example.atcheck.post/aaaa", record("first, edited"))])
    b.commit(control, [("delete", "com.example.atcheck.post/bbbb", None)])
    for case in cases:
        case.build(b, case)
    b.script.sentinel = commit_ref(b.commit(control, [_post(999)]))
