"""What the firehose suite shares: subscriptions that always close, and one recorded history per target.

The history is what most tests judge: a live subscription (no cursor) opened *before* a fresh account is
created, then a fixed series of writes to that account (a 32-record batch, so the MST has several layers;
single creates, an update, a delete; a mixed batch), and every frame the stream sent until the commits of
all those writes had arrived (plus a short quiet period, to catch duplicates). Record keys and values are
fixed, so every run writes the same trees. Building it costs about a second; each test then checks one
property of the same frames, so a target that fails one rule is not reported for every other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    History,
    IdleObservation,
    StreamFailure,
    Subscription,
    TargetUnderTest,
    Write,
    apply_writes,
    atproto_key,
    delete_record,
    did_document,
    note,
    observe_idle,
    subscribe,
    write_record,
)
from atcheck.suite.upstreams import Upstream

COLLECTION = "com.example.atcheck.firehose"
BULK_COUNT = 32
#: How long the stream may take to deliver the commits of the writes (the reference takes milliseconds).
DELIVERY_TIMEOUT_S = 15.0
#: After the last expected frame, how long to keep listening for frames that should not come.
QUIET_S = 0.7
#: How long every target's idle subscription is observed (event-stream: at least a minute without events).
IDLE_S = 60.0

OpenStream = Callable[..., Subscription]


def _open(target: TargetUnderTest, cursor: int | None = None, label: str | None = None) -> Subscription:
    return subscribe(target.endpoint("pds").url, cursor=cursor, recorder=target.recorder, label=label)


@pytest.fixture
def open_stream(target: TargetUnderTest) -> Iterator[OpenStream]:
    """Open subscriptions to the target PDS's firehose (``cursor=`` optional); all are closed afterwards."""
    opened: list[Subscription] = []

    def open_(cursor: int | None = None, label: str | None = None) -> Subscription:
        sub = _open(target, cursor, label)
        opened.append(sub)
        return sub

    yield open_
    for sub in opened:
        sub.close()


def _batch(account: Account, writes: list[dict[str, Any]]) -> dict[str, Any]:
    resp = apply_writes(account, writes)
    body = resp.json() if resp.status == 200 else None
    if not isinstance(body, dict):
        raise StreamFailure("applyWrites to succeed (HTTP 200, JSON)", resp.text[:300], resp.describe())
    return body


def _record_writes(target: TargetUnderTest, account: Account) -> list[Write]:
    """The fixed series of writes; returns what each should put on the stream."""
    writes: list[Write] = []
    current: dict[str, str] = {}

    def single(label: str, rkey: str, text: str) -> None:
        path = f"{COLLECTION}/{rkey}"
        was = current.get(path)
        got = write_record(account, note(text, collection=COLLECTION), rkey=rkey, collection=COLLECTION)
        action = "update" if was else "create"
        writes.append(
            Write(label, [(action, path, got.cid)], {path: was} if was else {}, got.commit_cid, got.rev)
        )
        current[path] = got.cid

    def remove(label: str, rkey: str) -> None:
        path = f"{COLLECTION}/{rkey}"
        resp = delete_record(account, rkey, collection=COLLECTION)  # its answer is judged elsewhere
        body = resp.json() if resp.status == 200 and resp.content else {}
        commit = body.get("commit") if isinstance(body, dict) else None
        cid = commit.get("cid") if isinstance(commit, dict) else None
        writes.append(Write(label, [("delete", path, None)], {path: current.pop(path)}, cid))

    if target.supports("repo.apply-writes"):
        creates = [
            {
                "$type": "com.atproto.repo.applyWrites#create",
                "collection": COLLECTION,
                "rkey": f"b{i:02d}",
                "value": note(f"bulk {i}", collection=COLLECTION),
            }
            for i in range(BULK_COUNT)
        ]
        results = _batch(account, creates).get("results")
        cids = [r.get("cid") for r in results] if isinstance(results, list) else []
        if len(cids) != BULK_COUNT or not all(isinstance(c, str) for c in cids):
            raise StreamFailure("applyWrites results with a cid per create", results, "applyWrites")
        ops = [("create", f"{COLLECTION}/b{i:02d}", str(c)) for i, c in enumerate(cids)]
        writes.append(Write(f"applyWrites: {BULK_COUNT} creates", list(ops), {}))
        current.update({path: str(cid) for _, path, cid in ops})
    single("create r1", "r1", "first")
    single("create r2", "r2", "second")
    single("update r1", "r1", "first, edited")
    remove("delete r2", "r2")
    if target.supports("repo.apply-writes"):
        path_upd, path_del = f"{COLLECTION}/b07", f"{COLLECTION}/b13"
        mixed = [
            {
                "$type": "com.atproto.repo.applyWrites#update",
                "collection": COLLECTION,
                "rkey": "b07",
                "value": note("bulk 7, edited", collection=COLLECTION),
            },
            {"$type": "com.atproto.repo.applyWrites#delete", "collection": COLLECTION, "rkey": "b13"},
            {
                "$type": "com.atproto.repo.applyWrites#create",
                "collection": COLLECTION,
                "rkey": "r3",
                "value": note("third", collection=COLLECTION),
            },
        ]
        body = _batch(account, mixed)
        results = body.get("results") if isinstance(body.get("results"), list) else []
        new_cid = results[0].get("cid") if len(results) == 3 and isinstance(results[0], dict) else None
        created = results[2].get("cid") if len(results) == 3 and isinstance(results[2], dict) else None
        commit = body.get("commit") if isinstance(body.get("commit"), dict) else {}
        writes.append(
            Write(
                "applyWrites: update, delete, create",
                [
                    ("update", path_upd, str(new_cid) if new_cid else None),
                    ("delete", path_del, None),
                    ("create", f"{COLLECTION}/r3", str(created) if created else None),
                ],
                {path_upd: current[path_upd], path_del: current[path_del]},
                commit.get("cid"),
                commit.get("rev"),
            )
        )
    return writes


def record_history(
    target: TargetUnderTest, make_account: Callable[[], Account], *, timeout: float = DELIVERY_TIMEOUT_S
) -> History:
    """Subscribe live, create an account, write, and keep what the stream sent (see the module docstring).

    ``timeout`` bounds the wait for the writes' commits (atcheck's self-test shortens it). A PDS that has
    no event at all yet may end a subscription before its first frame (arroba does; its manifest notes
    it): that is not what this suite judges, so a recording whose stream ended before any frame is made
    once more, when the first attempt has given the PDS events.
    """
    history = _record_once(target, make_account, timeout)
    if history.failure is not None and not history.frames:
        history = _record_once(target, make_account, timeout)
    return history


def _record_once(target: TargetUnderTest, make_account: Callable[[], Account], timeout: float) -> History:
    first = len(target.recorder.exchanges)  # the evidence of this attempt only
    with _open(target, label="history") as sub:
        account = make_account()
        plc = target.client("plc")
        key = atproto_key(did_document(plc, account.did), account.did)
        writes = _record_writes(target, account)
        history = History(target.name, account.did, account.handle, sub.frames, writes, key, sub.name)
        wanted = len(writes)
        try:
            sub.read_until(
                lambda _f: len(history.write_commits()) >= wanted,
                timeout,
                what=f"the #commit events of {wanted} writes to {account.did}",
            )
            sub.drain(QUIET_S, DELIVERY_TIMEOUT_S)
        except StreamFailure as exc:
            history.failure = exc
    history.evidence = list(target.recorder.exchanges[first:])
    return history


@pytest.fixture(scope="session")
def _histories() -> dict[str, History]:
    return {}


@pytest.fixture
def history(
    target: TargetUnderTest, account_factory: Callable[[], Account], _histories: dict[str, History]
) -> History:
    """The target's recorded history (recorded once per target and session, on first use).

    Its evidence (the subscription's frame log and the writes) is added to every test that judges it.
    """
    if target.name not in _histories:
        _histories[target.name] = record_history(target, account_factory)
    found = _histories[target.name]
    for exchange in found.evidence:
        if exchange not in target.recorder.exchanges:
            target.recorder.record(exchange)
    return found


@pytest.fixture(scope="session")
def _idle_observations() -> dict[str, IdleObservation]:
    return {}


@pytest.fixture
def idle_observation(
    target: TargetUnderTest,
    sibling_targets: list[Upstream],
    _idle_observations: dict[str, IdleObservation],
) -> IdleObservation:
    """What the target's stream did during :data:`IDLE_S` seconds without events.

    Every target of the test is observed in one shared window (``atcheck.suite.observe_idle``): the test
    is marked ``together``, so its instances run last, one after another; the first opens a subscription
    to every target at once and blocks for the window, so no other test writes meanwhile, and the others
    find their observation made. Each target gets a fresh account first (a PDS with no event at all may
    end a subscription at once, which is not what this judges), then the whole window.
    """
    if target.name not in _idle_observations:
        pending = [s for s in sibling_targets if s.name not in _idle_observations]
        for sibling in pending:
            sibling.new_account()
        streams = {s.name: s.target.endpoint("pds").url for s in pending}
        _idle_observations.update(observe_idle(streams, IDLE_S))
    found = _idle_observations[target.name]
    for exchange in found.evidence:
        target.recorder.record(exchange)
    return found
