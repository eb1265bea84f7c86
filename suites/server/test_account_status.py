"""Inactive accounts stop serving content; activation brings it back.

Spec: https://atproto.com/specs/account (Hosting Status): "If an account is not active, the service should not
redistribute content for that account (repositories, individual records, blobs, etc)"; the sync Lexicons name
the error, ``RepoDeactivated``. ``com.atproto.server.deactivateAccount`` and ``activateAccount`` are how the
account holder pauses and resumes. (The migration suite checks the same state on a source PDS after a move;
this checks it on its own, record by record, and the way back.)
"""

from __future__ import annotations

import pytest

from atcheck.suite import (
    Account,
    XrpcClient,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    note,
    write_record,
)

COLLECTION = "com.example.atcheck.status"
NEEDS = ("account.create", "account.session", "repo.write", "sync.get-repo", "sync.get-record")


def _status(pds: XrpcClient, did: str) -> dict[str, object]:
    return expect_ok(pds.query("com.atproto.sync.getRepoStatus", {"did": did}))


def _deactivate(account: Account) -> None:
    write_record(account, note("written while active", COLLECTION), rkey="kept")
    expect_status(account.client.procedure("com.atproto.server.deactivateAccount", {}), 200)


@pytest.mark.requirement("SYNC-HTTP-03", "ACCT-05")
@pytest.mark.needs(*NEEDS)
def test_a_deactivated_account_serves_no_repository_content(pds: XrpcClient, account: Account) -> None:
    """After deactivateAccount: getRepo and sync.getRecord answer ``RepoDeactivated``, and getRepoStatus says
    ``active: false, status: deactivated``."""
    _deactivate(account)
    expect_error(pds.query("com.atproto.sync.getRepo", {"did": account.did}), 400, "RepoDeactivated")
    params = {"did": account.did, "collection": COLLECTION, "rkey": "kept"}
    expect_error(pds.query("com.atproto.sync.getRecord", params), 400, "RepoDeactivated")
    status = _status(pds, account.did)
    expect_equal(status.get("active"), False, "getRepoStatus' active after deactivateAccount")
    expect_equal(status.get("status"), "deactivated", "getRepoStatus' status after deactivateAccount")


@pytest.mark.requirement("ACCT-06")
@pytest.mark.needs(*NEEDS)
def test_activation_serves_the_repository_again(pds: XrpcClient, account: Account) -> None:
    """activateAccount makes the account active again: getRepoStatus says so and getRepo serves the repo."""
    _deactivate(account)
    expect_status(account.client.procedure("com.atproto.server.activateAccount"), 200)
    status = _status(pds, account.did)
    expect_equal(status.get("active"), True, "getRepoStatus' active after activateAccount")
    expect_status(pds.query("com.atproto.sync.getRepo", {"did": account.did}), 200)
