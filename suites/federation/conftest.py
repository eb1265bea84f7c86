"""The federation scene: a relay under test, the run's PDSes it follows, and both sides' streams recorded.

Built once per relay target (module scope), then judged by many tests. For each PDS the relay follows:
a fresh account; a live subscription to the PDS's own stream; a warm-up write that must come out of the
relay (proving the relay is connected to that PDS at all); then a series of creates, an update and a delete,
interleaved across PDSes. Both streams are read on background threads with arrival times, so each commit
can be matched PDS -> relay and its latency measured. The tests then compare what each side said.

Waits poll with a deadline (a relay forwards in tens of milliseconds, but flushes in batches); the only
fixed pause is the settle time after the last expected commit, which gives a duplicate the chance to show.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetDidNotStart,
    TargetUnderTest,
    XrpcClient,
    delete_record,
    expect_ok,
    new_rkey,
    note,
    write_record,
)
from atcheck.suite.federation import Federation, Producer, StreamRecorder, TimedFrame, frame_rev
from atcheck.suite.upstreams import Upstream

COLLECTION = "com.example.atcheck.federated"
#: Creates per PDS in the measured phase; round UPDATE_ROUND updates the first record, DELETE_ROUND deletes
#: the second, so every op kind crosses the relay.
ROUNDS = 8
UPDATE_ROUND = 4
DELETE_ROUND = 6
WARM_UP_TIMEOUT_S = 30.0
ARRIVAL_TIMEOUT_S = 30.0
SETTLE_S = 1.5


def _has_commit(frames: Sequence[TimedFrame], did: str, rev: str | None) -> bool:
    return any(
        tf.frame.t == "#commit" and tf.frame.did == did and (rev is None or frame_rev(tf.frame) == rev)
        for tf in frames
    )


def _commit_of(did: str, rev: str | None) -> Callable[[Sequence[TimedFrame]], bool]:
    return lambda frames: _has_commit(frames, did, rev)


@pytest.fixture
def relay(target: TargetUnderTest) -> XrpcClient:
    """An unauthenticated XRPC client for the relay under test (skipped for targets without one)."""
    return target.client("relay")


@pytest.fixture(scope="module")
def federation(target: TargetUnderTest, upstreams: list[Upstream]) -> Iterator[Federation]:
    """The scene, set once per relay target; every stream is closed at the end, whatever happened."""
    target.endpoint("relay")  # skips for a target that is not a relay
    relay_stream = StreamRecorder(target.endpoint("relay").url, f"relay {target.name}", target.recorder)
    scene = Federation(relay=target, relay_stream=relay_stream)
    try:
        relay_stream.start()
        scene.producers = [_join(up, relay_stream) for up in upstreams]
        _write_rounds([p for p in scene.producers if p.problem is None])
        _await_arrival(scene)
        yield scene
    finally:
        relay_stream.stop()
        for producer in scene.producers:
            if producer.stream is not None:
                producer.stream.stop()


def _join(upstream: Upstream, relay_stream: StreamRecorder) -> Producer:
    """A fresh account on ``upstream``, its PDS stream opened, and a warm-up commit seen on the relay.

    What goes wrong on one PDS (no account, no stream, a refused write) is kept as that producer's problem:
    its tests fail with it, and the other PDSes are still judged.
    """
    producer = Producer(upstream=upstream)
    try:
        account = producer.account = upstream.new_account()
        producer.stream = StreamRecorder(upstream.url, f"pds {upstream.name}").start()
        warm = write_record(account, note("warm-up", COLLECTION), rkey=new_rkey("warm"))
    except (ConformanceFailure, TargetDidNotStart) as exc:
        producer.problem = f"setting the scene on {upstream.name} failed: {exc}"
        return producer
    rev = warm.rev or _latest_rev(account)
    producer.warm_rev = rev
    if not relay_stream.wait_for(_commit_of(account.did, rev), WARM_UP_TIMEOUT_S):
        producer.problem = (
            f"the relay never relayed the warm-up commit (rev {rev}) of {account.did} from {upstream.name} "
            f"({upstream.hostname}) within {WARM_UP_TIMEOUT_S:g} s"
            + (f"; its stream failed: {relay_stream.failure}" if relay_stream.failure else "")
        )
    return producer


def _latest_rev(account: Account) -> str | None:
    resp = account.client.query("com.atproto.sync.getLatestCommit", {"did": account.did})
    rev = expect_ok(resp).get("rev")
    return rev if isinstance(rev, str) else None


def _write_rounds(producers: list[Producer]) -> None:
    """Creates on every PDS in turn, one update and one delete each, so the relay interleaves hosts."""
    rkeys: dict[str, list[str]] = {p.name: [] for p in producers}
    for round_no in range(ROUNDS):
        for producer in producers:
            if producer.problem is None:
                try:
                    _write_once(producer, round_no, rkeys[producer.name])
                except ConformanceFailure as exc:
                    producer.problem = f"a write on {producer.name} failed: {exc}"
    for producer in producers:
        if producer.problem is None and producer.last_rev is None and producer.account is not None:
            producer.last_rev = _latest_rev(producer.account)


def _write_once(producer: Producer, round_no: int, keys: list[str]) -> None:
    """One write of round ``round_no``: a create, or the round's update or delete."""
    account = producer.account
    assert account is not None
    if round_no == UPDATE_ROUND and keys:
        written = write_record(account, note("updated", COLLECTION), rkey=keys[0])
        producer.last_rev = written.rev
    elif round_no == DELETE_ROUND and len(keys) > 1:
        # Not judged here (the repo suite does): a PDS that deletes but answers badly still commits.
        delete_record(account, keys[1], collection=COLLECTION)
        producer.last_rev = None
    else:
        rkey = new_rkey("f")
        written = write_record(account, note(f"round {round_no}", COLLECTION), rkey=rkey)
        keys.append(rkey)
        producer.last_rev = written.rev
    producer.writes += 1


def _await_arrival(scene: Federation) -> None:
    """Wait until the relay has sent each PDS's last commit, then a settle time for duplicates."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    for producer in scene.producers:
        if producer.problem is not None:
            continue
        left = max(0.0, deadline - time.monotonic())
        # Not arriving is judged by the tests: the commits that did arrive are compared with the PDS's.
        scene.relay_stream.wait_for(_commit_of(producer.did, producer.last_rev), left)
    time.sleep(SETTLE_S)
