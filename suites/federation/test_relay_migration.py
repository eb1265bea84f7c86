"""A relay follows an account that moves between two PDSes it follows.

Spec: account §Account Migration and sync §Hosting Status: after a migration the account's current PDS is
the new one (its DID document says so); a relay takes the account's events from that host from then on and
ignores the old host's (MIG-11, SYNC-FH-17); a signature that fails with a cached key is retried after
refreshing the identity (MIG-13, SYNC-FH-10).

The scene (``relay_over_twins``): a PDS target the relay follows and its second instance on the run's PLC,
both followed by the relay (a second relay instance is started when the relay under test predates the
second PDS). An account writes on the first PDS, moves to the second by the official flow
(:func:`atcheck.suite.migration.migrate`), and writes there. Then the relay must present the new PDS's head
(``getLatestCommit``), carry that write on its stream, and keep the account active, although the old PDS
deactivated it. Waits poll with a limit: a relay forwards in tens of milliseconds but flushes in batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from atcheck.suite import (
    ConformanceFailure,
    XrpcClient,
    XrpcResponse,
    case_tag,
    expect,
    latest_commit,
    note,
    subscribe,
    write_record,
)
from atcheck.suite.migration import migrate
from atcheck.suite.upstreams import RelayOverTwins

#: Every test here checks the relay; the PDSes are its upstreams.
pytestmark = [pytest.mark.role("relay"), pytest.mark.needs("sync.latest-commit", "sync.subscribe-repos")]

COLLECTION = "com.example.atcheck.relaymoved"
FOLLOW_S = 30.0


def _poll(
    relay: XrpcClient, nsid: str, did: str, done: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Ask the relay ``nsid`` about ``did`` until ``done`` holds for its answer; fail after FOLLOW_S."""
    deadline = time.monotonic() + FOLLOW_S
    last: XrpcResponse | None = None
    while time.monotonic() < deadline:
        last = relay.query(nsid, {"did": did})
        body = last.json() if last.status == 200 else None
        if isinstance(body, dict) and done(body):
            return body
        time.sleep(0.3)
    got = f"HTTP {last.status} {last.text[:200]}" if last is not None else "no answer"
    raise ConformanceFailure(f"{what} within {FOLLOW_S:g} s", got, last)


@pytest.mark.requirement("MIG-11", "SYNC-FH-17", "MIG-13")
def test_a_relay_follows_a_migrated_account_to_its_new_host(relay_over_twins: RelayOverTwins) -> None:
    scene = relay_over_twins
    relay = scene.relay.client("relay")
    old = scene.source.new_account()
    before = write_record(old, note("before the move", COLLECTION), rkey="before")
    _poll(
        relay,
        "com.atproto.sync.getLatestCommit",
        old.did,
        lambda body: body.get("rev") == before.rev,
        f"the relay to carry the account's write on the old PDS ({scene.source.name}, rev {before.rev})",
    )
    with subscribe(scene.relay.endpoint("relay").url, label=f"relay {scene.relay.name}") as stream:
        moved = migrate(old, scene.source.target, scene.dest)
        assert moved.new is not None
        after = write_record(moved.new, note("after the move", COLLECTION), rkey="after")
        head = latest_commit(scene.dest.client(), old.did)
        where = f"[{scene.source.name} -> {scene.dest.name}]"
        try:
            _poll(
                relay,
                "com.atproto.sync.getLatestCommit",
                old.did,
                lambda body: body.get("rev") == head.rev and body.get("cid") == head.cid,
                f"{where} the relay's getLatestCommit to give the new PDS's head (rev {head.rev})",
            )
        except ConformanceFailure as failure:
            if "RepoDeactivated" not in str(failure.got):
                raise
            # The relay holds the account deactivated: it took the old host's deactivation (or the new
            # host's pre-activation status) as the account's, and drops the new host's events. A case of
            # its own, so a baseline can name exactly this failure.
            raise ConformanceFailure(
                failure.expected, f"{failure.got} {case_tag('relay-holds-moved-account-deactivated')}"
            ) from None
        frames = [f for f in stream.drain(quiet=1.5, limit=15) if f.did == old.did]
    shown = [f"{f.t} {f.body.get('rev', f.body.get('active', ''))}" for f in frames]
    expect(
        any(f.t == "#commit" and f.body.get("rev") == after.rev for f in frames),
        f"{where} the new PDS's #commit (rev {after.rev}) on the relay's stream",
        shown,
    )
    status = _poll(
        relay,
        "com.atproto.sync.getRepoStatus",
        old.did,
        lambda body: "active" in body,
        f"{where} the relay's getRepoStatus for the moved account",
    )
    expect(
        status.get("active") is True,
        f"{where} the account active at the relay (the old PDS's deactivation is not the current host's)",
        status,
    )
