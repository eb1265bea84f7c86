"""``#commit`` events: fields, the CAR slice, the per-repo chain, and inductive verification of each.

Spec: https://atproto.com/specs/sync (§#commit Events, §Reliable Repository Synchronization),
https://atproto.com/specs/repository (§Commit Diffs, operation inversion) and the Lexicon
``com.atproto.sync.subscribeRepos#commit``. The commits judged are those of the recorded history
(conftest.py): a new account's first commit, then a 32-record batch, single creates, an update, a delete and a
mixed batch. Each commit is verified on its own by atcheck's oracle, as a consumer that holds nothing but the
event would: the signature with the ``#atproto`` key of the account's DID document, and the ops inverted on
the partial tree in ``blocks``, which must give ``prevData``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from atcheck.suite import (
    Account,
    Frame,
    History,
    StreamFailure,
    Subscription,
    check_diff_blocks,
    frame_commit,
    message_errors,
    note,
    read_blocks,
    verify_commit_frame,
)

pytestmark = pytest.mark.needs("sync.subscribe-repos")

COLLECTION = "com.example.atcheck.firehose"
BLOCKS_LIMIT = 2_000_000
RECORD_LIMIT = 1_000_000
OPS_LIMIT = 200
OpenStream = Callable[..., Subscription]


def _commits(history: History) -> list[Frame]:
    commits = history.commits()
    if not commits:
        history.require_complete()
        raise StreamFailure(f"#commit events for {history.did}", "none", history.stream)
    return commits


@pytest.mark.requirement("SYNC-FH-03")
def test_commit_events_carry_every_required_field(history: History) -> None:
    """Every field the Lexicon requires (``seq, rebase, tooBig, repo, commit, rev, since, blocks, ops, blobs,
    time``; ``since`` present even when null), with its type, and ``prevData`` on every commit that has a
    predecessor (the spec: effectively required for inductive sync)."""
    for i, frame in enumerate(_commits(history)):
        errors = message_errors(frame)
        if errors:
            raise frame.fail("a #commit valid against the Lexicon", "; ".join(errors[:5]))
        if "since" not in frame.body:
            raise frame.fail("'since' present (required, null only without a previous commit)", "absent")
        if i > 0 and "prevData" not in frame.body:
            raise frame.fail("'prevData' on a commit that follows another", "absent")
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-04")
def test_commit_fields_match_the_signed_commit(history: History) -> None:
    """``commit`` is the CID of the commit block, which is the CAR's first root; ``rev`` and ``repo`` are
    those of the commit object itself."""
    for frame in _commits(history):
        car = read_blocks(frame)
        if frame.body.get("commit") != car.roots[0]:
            raise frame.fail(
                f"'commit' equal to the CAR's first root {car.roots[0]}", frame.body.get("commit")
            )
        commit = frame_commit(frame, None)
        if frame.body.get("rev") != commit.rev:
            raise frame.fail(f"'rev' equal to the commit's rev {commit.rev}", frame.body.get("rev"))
        if frame.body.get("repo") != commit.did:
            raise frame.fail(f"'repo' equal to the commit's did {commit.did}", frame.body.get("repo"))
    history.require_complete()


@pytest.mark.requirement("REPO-COMMIT-02")
def test_every_commit_is_signed_with_the_did_document_key(history: History) -> None:
    """The commit in each event verifies against the ``#atproto`` key of the account's DID document."""
    for frame in _commits(history):
        frame_commit(frame, history.signing_key)
    history.require_complete()


@pytest.mark.requirement("REPO-DIFF-01")
def test_blocks_hold_the_commit_new_nodes_and_records(history: History) -> None:
    """``blocks`` is a CAR whose first root is the commit, holding the MST nodes on the path of every op
    and the record block of every create and update; it leaves out the old versions that updates and
    deletes replaced."""
    for frame in _commits(history):
        car = check_diff_blocks(frame)
        ops = [op for op in frame.body.get("ops") or [] if isinstance(op, dict)]
        written = {op.get("cid") for op in ops}
        for op in ops:
            prev = op.get("prev")
            # (a block equal to a record written by the same commit is that record, not the old version)
            if prev is not None and prev in car.blocks and prev not in written:
                raise frame.fail(
                    f"no block for the replaced version of {op.get('path')}", f"block {prev} is in 'blocks'"
                )
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-08", "REPO-DIFF-03", "REPO-DIFF-04")
def test_every_commit_inverts_to_prevdata(history: History) -> None:
    """Inverting each commit's ops on the partial tree in its ``blocks`` gives ``prevData`` exactly, so a
    consumer holding only the event can check that no op is missing (Sync 1.1 inductive firehose)."""
    checked = 0
    for frame in _commits(history):
        if frame.body.get("prevData") is None:
            continue  # required-ness is judged by test_commit_events_carry_every_required_field
        verify_commit_frame(frame, None)
        checked += 1
    if not checked:
        raise StreamFailure("#commit events with prevData to invert", "none", history.stream)
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-07")
def test_ops_carry_cid_and_prev_as_sync_1_1_requires(history: History) -> None:
    """A create has ``cid`` and no ``prev``; an update has ``cid`` and ``prev`` = the record's CID before;
    a delete has ``cid`` null and that ``prev``."""
    prev_of = {path: cid for w in history.writes for path, cid in w.prev.items()}
    for frame in history.write_commits():
        for op in frame.body.get("ops") or []:
            if not isinstance(op, dict):
                raise frame.fail("ops that are objects", op)
            action, path = op.get("action"), op.get("path")
            if action not in ("create", "update", "delete"):
                raise frame.fail("op action create, update or delete", action)
            if "cid" not in op:
                raise frame.fail(f"'cid' on {action} {path} (required, null for deletes)", "absent")
            cid, prev = op["cid"], op.get("prev")
            if action == "create":
                if cid is None or "prev" in op:
                    raise frame.fail(f"create {path}: a cid and no prev", op)
                continue
            if action == "update" and cid is None:
                raise frame.fail(f"update {path}: a cid", "null")
            if action == "delete" and cid is not None:
                raise frame.fail(f"delete {path}: cid null", cid)
            want = prev_of.get(str(path))
            if prev is None or (want is not None and str(prev) != want):
                raise frame.fail(f"{action} {path}: prev = the record's CID before, {want}", prev)
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-05")
def test_since_and_prevdata_chain_to_the_previous_commit(history: History) -> None:
    """``since`` is the previous commit's ``rev`` (null on the repo's first commit) and ``prevData`` the
    previous commit's ``data``, commit after commit for the account."""
    previous = None
    for frame in _commits(history):
        commit = frame_commit(frame, None)
        if previous is None:
            if frame.body.get("since") is not None:
                raise frame.fail("since null on the account's first commit", frame.body.get("since"))
        else:
            if frame.body.get("since") != previous.rev:
                raise frame.fail(f"since = the previous commit's rev {previous.rev}", frame.body.get("since"))
            if frame.body.get("prevData") != previous.data:
                raise frame.fail(
                    f"prevData = the previous commit's data {previous.data}", frame.body.get("prevData")
                )
        previous = commit
    history.require_complete()


@pytest.mark.requirement("REPO-COMMIT-04")
def test_rev_increases_from_commit_to_commit(history: History) -> None:
    """Each commit's ``rev`` (a TID, so ordered as a string) is above the one before, for the account."""
    last: str | None = None
    for frame in _commits(history):
        rev = frame.body.get("rev")
        if not isinstance(rev, str) or (last is not None and rev <= last):
            raise frame.fail(f"a rev above the previous commit's {last}", rev)
        last = rev
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-09")
def test_deprecated_fields_are_false_and_empty(history: History) -> None:
    """``tooBig`` is false and ``blobs`` an empty list: deprecated, still required, with fixed values."""
    for frame in _commits(history):
        if frame.body.get("tooBig") is not False:
            raise frame.fail("tooBig false", frame.body.get("tooBig"))
        if frame.body.get("blobs") != []:
            raise frame.fail("blobs an empty list", frame.body.get("blobs"))
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-06")
def test_commits_stay_within_the_size_limits(history: History) -> None:
    """``blocks`` at most 2,000,000 bytes, no record block over 1,000,000 bytes, at most 200 ops."""
    for frame in _commits(history):
        car = read_blocks(frame)
        if car.size > BLOCKS_LIMIT:
            raise frame.fail(f"'blocks' of at most {BLOCKS_LIMIT} bytes", car.size)
        ops = frame.body.get("ops") or []
        if len(ops) > OPS_LIMIT:
            raise frame.fail(f"at most {OPS_LIMIT} ops", len(ops))
        for op in ops:
            cid = op.get("cid") if isinstance(op, dict) else None
            if cid in car.blocks and len(car.blocks[cid]) > RECORD_LIMIT:
                raise frame.fail(f"record blocks of at most {RECORD_LIMIT} bytes", len(car.blocks[cid]))
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-25")
def test_each_write_appears_once_in_order_with_its_cids(history: History) -> None:
    """Each write's commit is on the stream exactly once, in the order of the writes, with the ops the write
    made and the record CIDs (and commit CID, where the answer named one) the write returned."""
    commits = history.write_commits()
    for i, write in enumerate(history.writes):
        if i >= len(commits):
            history.require_complete()
            raise StreamFailure(
                f"a #commit for write {i + 1} ({write.label}) of {len(history.writes)}",
                f"only {len(commits)} commit(s) with ops for {history.did}",
                history.stream,
            )
        frame = commits[i]
        got = sorted(
            (str(o.get("action")), str(o.get("path")), None if o.get("cid") is None else str(o.get("cid")))
            for o in frame.body.get("ops") or []
            if isinstance(o, dict)
        )
        want = sorted(write.ops, key=lambda o: (o[0], o[1], o[2] or ""))
        if got != sorted(want, key=lambda o: (o[0], o[1], o[2] or "")):
            raise frame.fail(f"the ops of write {i + 1} ({write.label}): {want[:4]}", got[:4])
        if write.commit_cid and str(frame.body.get("commit")) != write.commit_cid:
            raise frame.fail(f"commit {write.commit_cid}, as the write answered", frame.body.get("commit"))
    if len(commits) > len(history.writes):
        extra = commits[len(history.writes)]
        raise extra.fail(f"no more than the {len(history.writes)} commits of the writes", extra.summary())


@pytest.mark.needs("repo.apply-writes")
@pytest.mark.requirement("SYNC-FH-06")
def test_a_batch_of_201_writes_is_refused(account: Account, open_stream: OpenStream) -> None:
    """A PDS must not generate a commit with more than 200 ops: ``applyWrites`` with 201 creates is
    refused (any 4xx). If it is accepted, the stream must still carry no commit over the limit."""
    writes = [
        {
            "$type": "com.atproto.repo.applyWrites#create",
            "collection": COLLECTION,
            "rkey": f"n{i:03d}",
            "value": note(f"n {i}", collection=COLLECTION),
        }
        for i in range(OPS_LIMIT + 1)
    ]
    with open_stream(label="201 ops") as sub:
        resp = account.client.procedure(
            "com.atproto.repo.applyWrites", {"repo": account.did, "writes": writes}
        )
        if 400 <= resp.status < 500:
            return
        if resp.status != 200:
            raise StreamFailure(
                "a 4xx refusal of 201 ops", f"HTTP {resp.status} {resp.text[:200]}", resp.describe()
            )
        for frame in sub.drain(1.0, 10.0):
            ops = frame.body.get("ops") if frame.t == "#commit" else None
            if isinstance(ops, list) and len(ops) > OPS_LIMIT:
                raise frame.fail(
                    f"no commit of more than {OPS_LIMIT} ops (applyWrites accepted 201)", len(ops)
                )
