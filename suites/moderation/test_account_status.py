"""Account status changes made by the account holder (account §Hosting Status; account lifecycle Lexicons).

``deactivateAccount`` makes the account inactive: the PDS serves none of it (``RepoDeactivated``),
``getRepoStatus`` says ``deactivated``, sessions report it, and writes are refused. ``activateAccount``
undoes it. Deleting the account (``requestAccountDelete``, then ``deleteAccount`` with the mailed token)
removes it: ``RepoNotFound`` everywhere. The ``#account`` events of these changes are the firehose suite's
(suites/firehose/test_accounts.py). The Lexicons name the errors but not the HTTP status, so any 4xx is
accepted.
"""

from __future__ import annotations

import pytest

from atcheck.suite import (
    Account,
    TargetUnderTest,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    note,
    put_record,
)
from atcheck.suite.migration import mailed_token
from atcheck.suite.moderation import repo_status

_CLIENT_ERRORS = (400, 401, 403, 404, 410)


def _deactivate(account: Account) -> None:
    expect_status(account.client.procedure("com.atproto.server.deactivateAccount", {}), 200)


def _activate(account: Account) -> None:
    expect_status(account.client.procedure("com.atproto.server.activateAccount"), 200)


@pytest.mark.requirement("ACCT-05", "SYNC-HTTP-03")
@pytest.mark.needs("account.create", "account.session", "sync.get-repo")
def test_a_deactivated_repo_is_repo_deactivated(target: TargetUnderTest, account: Account) -> None:
    _deactivate(account)
    resp = target.client("pds").query("com.atproto.sync.getRepo", {"did": account.did})
    expect_error(resp, _CLIENT_ERRORS, "RepoDeactivated")


@pytest.mark.requirement("ACCT-05", "SYNC-HTTP-06")
@pytest.mark.needs("account.create", "account.session")
def test_get_repo_status_says_deactivated(target: TargetUnderTest, account: Account) -> None:
    _deactivate(account)
    resp = repo_status(target, account.did)
    body = expect_ok(resp)
    expect_equal(body.get("active"), False, "getRepoStatus's active", resp)
    expect_equal(body.get("status"), "deactivated", "getRepoStatus's status", resp)
    expect("rev" not in body, "no rev while the account is inactive", body.get("rev"), resp)


@pytest.mark.requirement("ACCT-05")
@pytest.mark.needs("account.create", "account.session", "repo.write")
def test_a_deactivated_account_cannot_write(account: Account) -> None:
    _deactivate(account)
    resp = put_record(account, note("while deactivated"), rkey="deact1")
    expect(400 <= resp.status < 500, "a refused write (4xx) while deactivated", resp.status, resp)


@pytest.mark.requirement("ACCT-06", "SYNC-HTTP-01", "SYNC-HTTP-06")
@pytest.mark.needs("account.create", "account.session", "sync.get-repo")
def test_activation_restores_the_account(target: TargetUnderTest, account: Account) -> None:
    _deactivate(account)
    _activate(account)
    expect_status(target.client("pds").query("com.atproto.sync.getRepo", {"did": account.did}), 200)
    resp = repo_status(target, account.did)
    body = expect_ok(resp)
    expect_equal(body.get("active"), True, "getRepoStatus's active after activateAccount", resp)
    expect(isinstance(body.get("rev"), str), "a rev on an active account", body.get("rev"), resp)


def _delete(target: TargetUnderTest, account: Account) -> None:
    expect(
        account.password is not None and account.email is not None,
        "an account with password and email",
        account,
    )
    expect_status(account.client.procedure("com.atproto.server.requestAccountDelete"), 200)
    token = mailed_token(target, str(account.email))
    resp = target.client("pds").procedure(
        "com.atproto.server.deleteAccount", {"did": account.did, "password": account.password, "token": token}
    )
    expect_status(resp, 200)


@pytest.mark.requirement("ACCT-07", "ACCT-17")
@pytest.mark.needs("account.create", "account.session", "admin", "sync.get-repo")
def test_a_deleted_account_is_repo_not_found(target: TargetUnderTest, account: Account) -> None:
    """After deleteAccount, ``getRepo`` and ``getRepoStatus`` answer ``RepoNotFound``."""
    _delete(target, account)
    expect_error(
        target.client("pds").query("com.atproto.sync.getRepo", {"did": account.did}),
        _CLIENT_ERRORS,
        "RepoNotFound",
    )
    expect_error(repo_status(target, account.did), _CLIENT_ERRORS, "RepoNotFound")


@pytest.mark.requirement("ACCT-17")
@pytest.mark.needs("account.create", "account.session")
def test_delete_account_with_a_wrong_token_is_refused(target: TargetUnderTest, account: Account) -> None:
    """A token that was never mailed is ``InvalidToken`` (or ``ExpiredToken``), and the account stays."""
    expect_status(account.client.procedure("com.atproto.server.requestAccountDelete"), 200)
    resp = target.client("pds").procedure(
        "com.atproto.server.deleteAccount",
        {"did": account.did, "password": account.password, "token": "AAAAA-BBBBB"},
    )
    expect_error(resp, _CLIENT_ERRORS, ("InvalidToken", "ExpiredToken"))
    expect_ok(repo_status(target, account.did))


@pytest.mark.requirement("ACCT-14")
@pytest.mark.needs("account.create", "account.session")
def test_a_session_reports_the_deactivation(target: TargetUnderTest, account: Account) -> None:
    """createSession and getSession of a deactivated account say ``active: false, status: "deactivated"``."""
    _deactivate(account)
    resp = target.client("pds").procedure(
        "com.atproto.server.createSession", {"identifier": account.did, "password": account.password}
    )
    body = expect_ok(resp)
    expect_equal(body.get("active"), False, "createSession's active", resp)
    expect_equal(body.get("status"), "deactivated", "createSession's status", resp)
    session = account.client.query("com.atproto.server.getSession")
    got = expect_ok(session)
    expect_equal(got.get("active"), False, "getSession's active", session)
    expect_equal(got.get("status"), "deactivated", "getSession's status", session)
