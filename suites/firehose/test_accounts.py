"""``#identity``, ``#account`` and ``#sync``: what the stream says when an account is created or changes.

Spec: https://atproto.com/specs/sync (§#identity, §#account, §#sync Events), https://atproto.com/specs/account
and the account-lifecycle guide (the order of a new account's events). Creation is judged on the recorded
history (conftest.py); each other change (handle, deactivation, deletion, takedown) gets a fresh account, a
live subscription opened before the change, and the events the change must produce.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable

import pytest

from atcheck.suite import (
    Account,
    Frame,
    History,
    StreamFailure,
    Subscription,
    TargetUnderTest,
    expect_status,
    note,
    read_blocks,
    verify_sync_frame,
    write_record,
)

pytestmark = pytest.mark.needs("sync.subscribe-repos")

OpenStream = Callable[..., Subscription]
EVENT_TIMEOUT_S = 15.0
SYNC_BLOCKS_LIMIT = 10_000
COLLECTION = "com.example.atcheck.firehose"


def _first(history: History, t: str) -> Frame:
    for frame in history.account_frames():
        if frame.t == t:
            return frame
    history.require_complete()
    raise StreamFailure(f"a {t} event for the new account {history.did}", "none", history.stream)


def _await(
    sub: Subscription, did: str, t: str, what: str, done: Callable[[Frame], bool] | None = None
) -> Frame:
    frames = sub.read_until(
        lambda f: f.did == did and f.t == t and (done is None or done(f)), EVENT_TIMEOUT_S, what=what
    )
    return frames[-1]


def _inactive(frame: Frame) -> bool:
    """An ``#account`` saying inactive. Earlier events of the account (its creation's ``active`` one may
    still be on its way when a test subscribes) are passed over."""
    return frame.body.get("active") is not True


def _active(frame: Frame) -> bool:
    return frame.body.get("active") is True


def _check_account_event(frame: Frame, active: bool, status: str | None) -> None:
    if frame.body.get("active") is not active:
        raise frame.fail(f"#account active={active}", frame.body.get("active"))
    if status is not None and frame.body.get("status") != status:
        raise frame.fail(f"#account status {status!r}", frame.body.get("status"))


def _admin_post(target: TargetUnderTest, nsid: str, body: dict[str, object]) -> None:
    password = target.endpoint("pds").credentials.admin_password
    if not password:
        pytest.skip(f"target {target.name} gives no admin password")
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    resp = target.client("pds").procedure(nsid, body, headers={"Authorization": f"Basic {token}"})
    expect_status(resp, 200)


# -- creation (the recorded history) ----------------------------------------------------------------------


@pytest.mark.requirement("SYNC-FH-13")
def test_a_new_account_gets_an_identity_event(history: History) -> None:
    """Creating an account creates its identity: an ``#identity`` event for the DID, whose ``handle``, when
    present, is the account's handle (or ``handle.invalid``)."""
    frame = _first(history, "#identity")
    handle = frame.body.get("handle")
    if handle is not None and handle not in (history.handle, "handle.invalid"):
        raise frame.fail(f"handle {history.handle!r} (or handle.invalid)", handle)


@pytest.mark.requirement("SYNC-FH-14")
def test_a_new_account_gets_an_active_account_event(history: History) -> None:
    """A new account is hosted and active: an ``#account`` event with ``active`` true."""
    _check_account_event(_first(history, "#account"), True, None)


@pytest.mark.requirement("SYNC-FH-21")
def test_a_new_account_announces_identity_then_account_then_commit(history: History) -> None:
    """The recommended order for a new account: ``#identity``, then ``#account`` (active), then the first
    ``#commit``."""
    order = [f for f in history.account_frames() if f.t in ("#identity", "#account", "#commit")]
    first_of = {}
    for frame in order:
        first_of.setdefault(frame.t, frame)
    wanted = ["#identity", "#account", "#commit"]
    missing = [t for t in wanted if t not in first_of]
    if missing:
        history.require_complete()
        raise StreamFailure(f"{', '.join(wanted)} for the new account", f"no {missing}", history.stream)
    got = sorted(wanted, key=lambda t: first_of[t].index)
    if got != wanted:
        raise first_of[got[0]].fail("#identity, then #account, then the first #commit", " then ".join(got))


@pytest.mark.requirement("SYNC-FH-12")
def test_a_new_account_gets_a_sync_event(history: History) -> None:
    """A new repository is a state a consumer cannot know yet: Sync 1.1 announces it with ``#sync``."""
    _first(history, "#sync")


@pytest.mark.requirement("SYNC-FH-11")
def test_sync_events_carry_only_the_signed_commit(history: History) -> None:
    """``#sync`` = ``{seq, did, rev, blocks, time}``; ``blocks`` is a CAR of at most 10,000 bytes holding
    just the commit (the first root), signed by the account's key; ``rev`` is the commit's."""
    syncs = [f for f in history.account_frames() if f.t == "#sync"]
    if not syncs:
        history.require_complete()
        pytest.skip("the target sent no #sync event for the new account (judged by SYNC-FH-12)")
    for frame in syncs:
        missing = [k for k in ("seq", "did", "rev", "blocks", "time") if k not in frame.body]
        if missing:
            raise frame.fail("#sync with seq, did, rev, blocks, time", f"no {missing}")
        car = read_blocks(frame)
        if car.size > SYNC_BLOCKS_LIMIT:
            raise frame.fail(f"#sync blocks of at most {SYNC_BLOCKS_LIMIT} bytes", car.size)
        if len(car.blocks) != 1:
            raise frame.fail("#sync blocks holding only the commit block", f"{len(car.blocks)} blocks")
        commit = verify_sync_frame(frame, history.signing_key)
        if frame.body.get("rev") != commit.rev:
            raise frame.fail(f"rev = the commit's rev {commit.rev}", frame.body.get("rev"))


# -- changes to an existing account -------------------------------------------------------------------------


@pytest.mark.needs("identity.update-handle")
@pytest.mark.requirement("SYNC-FH-13")
def test_a_handle_change_gets_an_identity_event(account: Account, open_stream: OpenStream) -> None:
    """After ``updateHandle``, an ``#identity`` event for the DID that does not name the old handle (it
    names the new one, ``handle.invalid``, or none). Redundant ``#identity`` events are allowed, so
    earlier ones naming the old handle are passed over."""
    new = "n" + account.handle
    with open_stream(label="handle change") as sub:
        expect_status(account.client.procedure("com.atproto.identity.updateHandle", {"handle": new}), 200)
        frame = _await(
            sub,
            account.did,
            "#identity",
            f"an #identity event for {account.did} after updateHandle, without the old handle",
            lambda f: f.body.get("handle") != account.handle,
        )
    handle = frame.body.get("handle")
    if handle is not None and handle not in (new, "handle.invalid"):
        raise frame.fail(f"handle {new!r} (or handle.invalid)", handle)


@pytest.mark.needs("account.status")
@pytest.mark.requirement("SYNC-FH-14")
def test_deactivation_and_activation_get_account_events(account: Account, open_stream: OpenStream) -> None:
    """``deactivateAccount`` gives ``#account`` active=false status=deactivated; ``activateAccount`` gives
    ``#account`` active=true again."""
    with open_stream(label="deactivate/activate") as sub:
        expect_status(account.client.procedure("com.atproto.server.deactivateAccount", {}), 200)
        off = _await(sub, account.did, "#account", f"an inactive #account for {account.did}", _inactive)
        _check_account_event(off, False, "deactivated")
        expect_status(account.client.procedure("com.atproto.server.activateAccount"), 200)
        on = _await(sub, account.did, "#account", f"an active #account for {account.did}", _active)
        _check_account_event(on, True, None)


@pytest.mark.needs("account.status")
@pytest.mark.requirement("SYNC-FH-15")
def test_no_commit_while_deactivated(account: Account, open_stream: OpenStream) -> None:
    """A PDS emits no ``#commit`` for an inactive account: a write tried while deactivated must not reach
    the stream (the write itself may be refused or not; only the stream is judged)."""
    with open_stream(label="write while deactivated") as sub:
        expect_status(account.client.procedure("com.atproto.server.deactivateAccount", {}), 200)
        _await(sub, account.did, "#account", f"an inactive #account for {account.did}", _inactive)
        with contextlib.suppress(AssertionError):  # a refusal is the expected answer
            write_record(account, note("while deactivated", collection=COLLECTION), collection=COLLECTION)
        expect_status(account.client.procedure("com.atproto.server.activateAccount"), 200)
        frames = sub.read_until(
            lambda f: f.did == account.did and f.t == "#account" and f.body.get("active") is True,
            EVENT_TIMEOUT_S,
            what=f"an active #account event for {account.did} after activation",
        )
    for frame in frames:
        if frame.did == account.did and frame.t == "#commit" and frame.body.get("ops"):
            raise frame.fail("no #commit with ops while the account is deactivated", frame.summary())


@pytest.mark.needs("admin")
@pytest.mark.requirement("SYNC-FH-14")
def test_deletion_gets_a_deleted_account_event(
    target: TargetUnderTest, account: Account, open_stream: OpenStream
) -> None:
    """Deleting an account (here by the admin, ``com.atproto.admin.deleteAccount``) gives ``#account``
    active=false with status ``deleted``."""
    with open_stream(label="delete") as sub:
        _admin_post(target, "com.atproto.admin.deleteAccount", {"did": account.did})
        frame = _await(sub, account.did, "#account", f"an inactive #account for {account.did}", _inactive)
    _check_account_event(frame, False, "deleted")


@pytest.mark.needs("admin")
@pytest.mark.requirement("SYNC-FH-14")
def test_a_takedown_gets_a_takendown_account_event(
    target: TargetUnderTest, account: Account, open_stream: OpenStream
) -> None:
    """An admin takedown (``com.atproto.admin.updateSubjectStatus``) gives ``#account`` active=false with
    status ``takendown``."""
    subject = {"$type": "com.atproto.admin.defs#repoRef", "did": account.did}
    with open_stream(label="takedown") as sub:
        _admin_post(
            target,
            "com.atproto.admin.updateSubjectStatus",
            {"subject": subject, "takedown": {"applied": True, "ref": "atcheck"}},
        )
        frame = _await(sub, account.did, "#account", f"an inactive #account for {account.did}", _inactive)
    _check_account_event(frame, False, "takendown")
