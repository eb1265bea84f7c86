"""Takedowns at a PDS (account §Hosting Status; the com.atproto.sync Lexicons' errors).

An admin takes an account down with ``com.atproto.admin.updateSubjectStatus``; from then on the PDS serves
nothing of it to the public: ``getRepo``, ``getLatestCommit``, ``sync.getRecord`` and ``getBlob`` answer
with the Lexicon error ``RepoTakendown``, and ``getRepoStatus`` says ``active: false, status: "takendown"``
(the ``#account`` event is the firehose suite's). Reversing the takedown restores all of it, with an
``#account`` event. The Lexicons name the errors but not the HTTP status, so any 4xx is accepted with the
right name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atcheck.suite import (
    COLLECTION,
    Account,
    TargetUnderTest,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    note,
    write_record,
)
from atcheck.suite.moderation import (
    account_event,
    firehose,
    repo_ref,
    repo_status,
    restore,
    take_down,
    upload_blob,
)

_CLIENT_ERRORS = (400, 403, 404, 410)


@pytest.fixture
def taken_down(target: TargetUnderTest, account: Account) -> Iterator[tuple[Account, str, str]]:
    """A fresh account with a record and a blob, taken down; (account, record rkey, blob CID)."""
    written = write_record(account, note("taken down"), rkey="td1")
    assert written.rkey == "td1"
    blob = upload_blob(account)
    take_down(target, repo_ref(account.did))
    yield account, "td1", blob


@pytest.mark.requirement("SYNC-HTTP-03", "ACCT-08")
@pytest.mark.needs("admin", "sync.get-repo")
def test_get_repo_of_a_taken_down_account_is_repo_takendown(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    account, _, _ = taken_down
    resp = target.client("pds").query("com.atproto.sync.getRepo", {"did": account.did})
    expect_error(resp, _CLIENT_ERRORS, "RepoTakendown")


@pytest.mark.requirement("SYNC-HTTP-03")
@pytest.mark.needs("admin", "sync.latest-commit")
def test_get_latest_commit_of_a_taken_down_account_is_repo_takendown(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    account, _, _ = taken_down
    resp = target.client("pds").query("com.atproto.sync.getLatestCommit", {"did": account.did})
    expect_error(resp, _CLIENT_ERRORS, "RepoTakendown")


@pytest.mark.requirement("SYNC-HTTP-03")
@pytest.mark.needs("admin", "sync.get-record")
def test_sync_get_record_of_a_taken_down_account_is_repo_takendown(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    account, rkey, _ = taken_down
    resp = target.client("pds").query(
        "com.atproto.sync.getRecord",
        {"did": account.did, "collection": COLLECTION, "rkey": rkey},
    )
    expect_error(resp, _CLIENT_ERRORS, "RepoTakendown")


@pytest.mark.requirement("BLOB-13", "SYNC-HTTP-03")
@pytest.mark.needs("admin", "sync.get-repo")
def test_get_blob_of_a_taken_down_account_is_repo_takendown(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    """Blobs of an inactive account are not public: ``getBlob`` answers ``RepoTakendown``."""
    account, _, cid = taken_down
    resp = target.client("pds").query("com.atproto.sync.getBlob", {"did": account.did, "cid": cid})
    expect_error(resp, _CLIENT_ERRORS, "RepoTakendown")


@pytest.mark.requirement("SYNC-HTTP-06", "ACCT-08", "ACCT-02")
@pytest.mark.needs("admin")
def test_get_repo_status_says_takendown(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    """``getRepoStatus``: ``active`` false, ``status`` ``takendown``, and no ``rev`` (only when active)."""
    account, _, _ = taken_down
    resp = repo_status(target, account.did)
    body = expect_ok(resp)
    expect_equal(body.get("did"), account.did, "getRepoStatus's did", resp)
    expect_equal(body.get("active"), False, "getRepoStatus's active", resp)
    expect_equal(body.get("status"), "takendown", "getRepoStatus's status", resp)
    expect("rev" not in body, "no rev while the account is inactive", body.get("rev"), resp)


@pytest.mark.requirement("ACCT-14")
@pytest.mark.needs("admin", "account.session")
def test_a_taken_down_account_cannot_log_in(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    """createSession for a taken-down account fails with ``AccountTakedown``."""
    account, _, _ = taken_down
    expect(account.password is not None, "an account with a password", account)
    resp = target.client("pds").procedure(
        "com.atproto.server.createSession", {"identifier": account.did, "password": account.password}
    )
    expect_error(resp, (400, 401, 403), "AccountTakedown")


@pytest.mark.requirement("SYNC-HTTP-01", "SYNC-HTTP-06")
@pytest.mark.needs("admin", "sync.get-repo")
def test_reversing_the_takedown_restores_the_account(
    target: TargetUnderTest, taken_down: tuple[Account, str, str]
) -> None:
    """After ``takedown.applied: false`` the repo is served again and ``getRepoStatus`` says active."""
    account, _, cid = taken_down
    restore(target, repo_ref(account.did))
    resp = target.client("pds").query("com.atproto.sync.getRepo", {"did": account.did})
    expect_status(resp, 200)
    status = repo_status(target, account.did)
    body = expect_ok(status)
    expect_equal(body.get("active"), True, "getRepoStatus's active after the reversal", status)
    expect("status" not in body, "no status on an active account", body.get("status"), status)
    blob = target.client("pds").query("com.atproto.sync.getBlob", {"did": account.did, "cid": cid})
    expect_status(blob, 200)


@pytest.mark.requirement("ACCT-04")
@pytest.mark.needs("admin", "sync.subscribe-repos")
def test_reversing_the_takedown_is_an_account_event(target: TargetUnderTest, account: Account) -> None:
    """Lifting the takedown is a status change too: an ``#account`` event with ``active: true``."""
    take_down(target, repo_ref(account.did))
    with firehose(target) as sub:
        restore(target, repo_ref(account.did))
        account_event(sub, account.did, active=True, what="an #account event with active true")
