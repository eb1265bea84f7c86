"""A relay follows the hosting status of the accounts it relays (account §Hosting Status, §Propagation).

The test runs when the run has a relay target and a PDS target with an admin API (``--atcheck-target
reference --atcheck-target indigo-relay``): an account is made on the PDS and writes once, so the relay
knows it; the PDS's admin takes it down; the relay must then stop presenting the account as active
(``getRepoStatus`` at the relay: ``active: false``, ``status: "takendown"``), and present it as active again
once the takedown is lifted. Status travels hop by hop, so the relay is given time (polled, with a limit).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from atcheck.suite import (
    ConformanceFailure,
    TargetUnderTest,
    XrpcResponse,
    expect_equal,
    expect_error,
    note,
    write_record,
)
from atcheck.suite.moderation import account_on, repo_ref, repo_status, restore, take_down

#: Every test here checks the relay (the PDS is only the upstream it follows). A takedown travels from one
#: implementation (the PDS target, ``peer``) to another (the relay): a federation scenario of the interop
#: matrix, PDS -> relay.
pytestmark = [
    pytest.mark.role("relay"),
    pytest.mark.interop("federation", producer="peer", consumer="target"),
]

_PROPAGATION_S = 30.0


def _relay_status(relay: TargetUnderTest, did: str, active: bool, what: str) -> dict[str, Any]:
    """Poll the relay's getRepoStatus until ``active`` is as wanted; fail after the limit."""
    deadline = time.monotonic() + _PROPAGATION_S
    last: XrpcResponse | None = None
    while time.monotonic() < deadline:
        last = repo_status(relay, did, role="relay")
        body = last.json() if last.status == 200 else None
        if isinstance(body, dict) and body.get("active") is active:
            return body
        time.sleep(0.5)
    got = f"HTTP {last.status} {last.text[:200]}" if last is not None else "no answer"
    raise ConformanceFailure(f"{what} within {_PROPAGATION_S:g} s", got, last)


@pytest.mark.requirement("ACCT-10", "ACCT-08")
@pytest.mark.needs("sync.subscribe-repos")
def test_a_relay_follows_a_takedown_and_its_reversal(target: TargetUnderTest, peer: TargetUnderTest) -> None:
    target.endpoint("relay")  # skips a target that is not a relay
    if not (peer.supports("admin") and peer.supports("repo.write")):
        pytest.skip(f"the run's PDS target {peer.name} has no admin API to take an account down")
    account = account_on(peer)
    write_record(account, note("seen by the relay"), rkey="relayed1")
    _relay_status(target, account.did, True, "the relay to know the new account as active")
    take_down(peer, repo_ref(account.did))
    body = _relay_status(target, account.did, False, "the relay to show the taken-down account as inactive")
    expect_equal(body.get("status"), "takendown", "the relay's status for the account")
    restore(peer, repo_ref(account.did))
    _relay_status(target, account.did, True, "the relay to show the account as active again")


@pytest.mark.requirement("SYNC-HTTP-03")
@pytest.mark.needs("sync.latest-commit")
def test_a_relay_answers_repo_takendown_for_a_taken_down_account(
    target: TargetUnderTest, peer: TargetUnderTest
) -> None:
    """Once the relay shows the account as taken down, its ``getLatestCommit`` answers ``RepoTakendown``."""
    target.endpoint("relay")
    if not (peer.supports("admin") and peer.supports("repo.write")):
        pytest.skip(f"the run's PDS target {peer.name} has no admin API to take an account down")
    account = account_on(peer)
    write_record(account, note("seen by the relay"), rkey="relayed2")
    _relay_status(target, account.did, True, "the relay to know the new account as active")
    take_down(peer, repo_ref(account.did))
    _relay_status(target, account.did, False, "the relay to show the taken-down account as inactive")
    resp = target.client("relay").query("com.atproto.sync.getLatestCommit", {"did": account.did})
    expect_error(resp, (400, 403, 404, 410), "RepoTakendown")
