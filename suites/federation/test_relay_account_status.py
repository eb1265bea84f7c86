"""Account status through a relay: a PDS deactivates and reactivates an account, the relay follows.

Spec: https://atproto.com/specs/account (§Hosting Status: status is hop-by-hop; a downstream service never
shows an account active that its upstream shows inactive) and https://atproto.com/specs/sync (§#account
Events; §Repository Exports: mirrors honour status changes within seconds to minutes). Only PDSes that
implement ``com.atproto.server.deactivateAccount`` take part; the others are named in the skip reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetDidNotStart,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    expect_error,
    new_rkey,
    note,
    write_record,
)
from atcheck.suite.federation import StreamRecorder, TimedFrame
from atcheck.suite.upstreams import Upstream

# Every test here judges the relay (the PDSes are its upstreams): failures are charged to it. In the report's
# interop matrix, each PDS -> relay pair is a cell; a failure names its pair as "[pds -> relay]".
pytestmark = [
    pytest.mark.role("relay"),
    pytest.mark.interop("federation", producer="upstreams", consumer="target"),
]

COLLECTION = "com.example.atcheck.federated"
#: How long a status change may take through the relay (SYNC-HTTP-13 allows "seconds to minutes"; a relay
#: that follows live forwards it in well under a second).
PROPAGATION_S = 15.0
NOT_IMPLEMENTED = (404, 501)


@dataclass
class StatusChange:
    """One account on one PDS, deactivated then reactivated, as the relay showed it at each step."""

    upstream: Upstream
    account: Account
    frames: list[TimedFrame] = field(default_factory=list)
    relay_status_inactive: XrpcResponse | None = None
    relay_latest_inactive: XrpcResponse | None = None
    relay_status_active: XrpcResponse | None = None
    problem: str | None = None


@dataclass
class StatusScene:
    relay: TargetUnderTest
    changes: list[StatusChange]
    left_out: list[str]


def _account_frames(frames: list[TimedFrame], did: str) -> list[dict[str, Any]]:
    return [tf.frame.body for tf in frames if tf.frame.t == "#account" and tf.frame.did == did]


def _commit_seen(did: str, rev: str | None) -> Callable[[Sequence[TimedFrame]], bool]:
    return lambda frames: any(
        tf.frame.t == "#commit" and tf.frame.did == did and (rev is None or tf.frame.body.get("rev") == rev)
        for tf in frames
    )


def _reactivated(did: str) -> Callable[[Sequence[TimedFrame]], bool]:
    """The relay's stream has an ``#account active=true`` for ``did`` after an ``active=false`` one.

    (Not "two #account events": a relay may also pass on the account's creation event, and two events
    would then be seen before the reactivation arrived.)
    """

    def seen(frames: Sequence[TimedFrame]) -> bool:
        off = False
        for body in _account_frames(list(frames), did):
            if body.get("active") is False:
                off = True
            elif off and body.get("active") is True:
                return True
        return False

    return seen


def _poll_status(relay: XrpcClient, did: str, active: bool) -> XrpcResponse:
    """getRepoStatus at the relay until ``active`` is as wanted, or the propagation time is up."""
    deadline = time.monotonic() + PROPAGATION_S
    while True:
        resp = relay.query("com.atproto.sync.getRepoStatus", {"did": did})
        body = resp.json() if resp.status == 200 else {}
        if (isinstance(body, dict) and body.get("active") is active) or time.monotonic() > deadline:
            return resp
        time.sleep(0.2)


@pytest.fixture(scope="module")
def status_scene(target: TargetUnderTest, upstreams: list[Upstream]) -> Iterator[StatusScene]:
    relay = target.client("relay")
    stream = StreamRecorder(target.endpoint("relay").url, f"relay {target.name}", target.recorder)
    changes: list[StatusChange] = []
    left_out: list[str] = []
    stream.start()
    try:
        for upstream in upstreams:
            try:
                account = upstream.new_account()
                # A first write, seen on the relay, proves the relay follows this account before it changes.
                written = write_record(account, note("before", COLLECTION), rkey=new_rkey("s"))
            except (ConformanceFailure, TargetDidNotStart) as exc:
                left_out.append(f"{upstream.name} (no account and write to start from: {exc})")
                continue
            seen = stream.wait_for(_commit_seen(account.did, written.rev), PROPAGATION_S)
            off = account.client.procedure("com.atproto.server.deactivateAccount", {})
            if off.status in NOT_IMPLEMENTED:
                left_out.append(f"{upstream.name} (deactivateAccount: HTTP {off.status})")
                continue
            change = StatusChange(upstream=upstream, account=account)
            changes.append(change)
            if not seen:
                change.problem = (
                    f"the relay did not relay the first commit of {account.did} on {upstream.name}"
                )
                continue
            if off.status != 200:
                change.problem = (
                    f"deactivateAccount on {upstream.name} failed: {off.describe()} {off.text[:200]}"
                )
                continue
            change.relay_status_inactive = _poll_status(relay, account.did, active=False)
            change.relay_latest_inactive = relay.query(
                "com.atproto.sync.getLatestCommit", {"did": account.did}
            )
            on = account.client.procedure("com.atproto.server.activateAccount")
            if on.status != 200:
                change.problem = f"activateAccount on {upstream.name} failed: {on.describe()} {on.text[:200]}"
                continue
            change.relay_status_active = _poll_status(relay, account.did, active=True)
            stream.wait_for(_reactivated(account.did), PROPAGATION_S)
        for change in changes:
            change.frames = stream.snapshot()
        yield StatusScene(relay=target, changes=changes, left_out=left_out)
    finally:
        stream.stop()


def _each(scene: StatusScene) -> list[StatusChange]:
    if not scene.changes:
        pytest.skip(f"no PDS of the run can deactivate an account: {', '.join(scene.left_out) or 'none'}")
    return scene.changes


def _pair(scene: StatusScene, change: StatusChange) -> str:
    """The ``[pds -> relay]`` tag that places a problem in its interop matrix cell."""
    return f"[{change.upstream.name} -> {scene.relay.name}]"


def _fail_if(problems: list[str], expected: str) -> None:
    if problems:
        raise ConformanceFailure(expected, "; ".join(problems))


@pytest.mark.requirement("ACCT-04", "SYNC-FH-14")
def test_the_relay_emits_account_events_for_a_status_change(status_scene: StatusScene) -> None:
    """After the PDS deactivates and reactivates, the relay's stream carries ``#account active=false
    status=deactivated``, then ``#account active=true``, for that account."""
    problems = []
    for change in _each(status_scene):
        if change.problem:
            problems.append(f"{_pair(status_scene, change)} {change.problem}")
            continue
        events = [
            (e.get("active"), e.get("status")) for e in _account_frames(change.frames, change.account.did)
        ]
        off = next((i for i, e in enumerate(events) if e == (False, "deactivated")), None)
        on = next((i for i, e in enumerate(events) if off is not None and i > off and e[0] is True), None)
        if off is None or on is None:
            problems.append(f"{_pair(status_scene, change)} #account events on the relay: {events}")
    _fail_if(problems, "#account active=false status=deactivated, then active=true, on the relay")


@pytest.mark.requirement("ACCT-10", "SYNC-HTTP-13")
def test_the_relay_repo_status_follows_the_pds(status_scene: StatusScene) -> None:
    """getRepoStatus at the relay shows the account inactive (status deactivated) while the PDS has it
    deactivated, and active again after reactivation, within seconds."""
    problems = []
    for change in _each(status_scene):
        if change.problem:
            problems.append(f"{_pair(status_scene, change)} {change.problem}")
            continue
        for resp, want in (
            (change.relay_status_inactive, (False, "deactivated")),
            (change.relay_status_active, (True, None)),
        ):
            body = resp.json() if resp is not None and resp.status == 200 else None
            got = (body.get("active"), body.get("status")) if isinstance(body, dict) else None
            if got != want:
                shown = resp.describe() if resp is not None else "no answer"
                problems.append(
                    f"{_pair(status_scene, change)} want active/status {want}, got {got} ({shown})"
                )
    _fail_if(problems, f"the relay's getRepoStatus to follow the PDS within {PROPAGATION_S:g} s")


@pytest.mark.requirement("SYNC-HTTP-03")
def test_the_relay_refuses_the_latest_commit_of_a_deactivated_repo(status_scene: StatusScene) -> None:
    """While the account is deactivated, getLatestCommit at the relay is the error ``RepoDeactivated``.

    The Lexicon names the error, not its HTTP status; any client-error status that fits (400, 403 or 404) is
    accepted with that name."""
    problems = []
    for change in _each(status_scene):
        if change.problem or change.relay_latest_inactive is None:
            problems.append(f"{_pair(status_scene, change)} {change.problem or 'no answer'}")
            continue
        try:
            expect_error(change.relay_latest_inactive, (400, 403, 404), "RepoDeactivated")
        except ConformanceFailure as exc:
            problems.append(f"{_pair(status_scene, change)} {exc}")
    _fail_if(problems, "RepoDeactivated from the relay for a deactivated account")
