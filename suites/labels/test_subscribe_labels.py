"""``com.atproto.label.subscribeLabels``: the label event stream (event-stream spec; label §Distribution).

Every frame is decoded by atcheck's oracle (exactly two strict DAG-CBOR objects: a header, then a payload)
and each ``#labels`` payload is checked against the Lexicon; every label in it must verify with the
labeler's ``#atproto_label`` key. ``seq`` is a positive integer that only grows; a cursor inside the
history replays from just after it and then continues live without a gap; ``cursor=0`` may replay the
whole history (labelers may keep all of it); a cursor beyond the latest seq gets a ``FutureCursor`` error
frame and a close; without a cursor the stream starts live. Labels are made by the test, on fresh subjects,
so a frame can be matched to what the test asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from atcheck.suite import expect, expect_equal, expect_status
from atcheck.suite.labels import (
    CreatedLabel,
    Frame,
    Labeler,
    Subscription,
    create_labels,
    expect_frame_lexicon,
    expect_label_signed,
    fresh_subject,
)
from atcheck.suite.oracle import PublicKey

#: Every test here checks the labeler (some of their IDs also apply to PDSes and relays).
pytestmark = pytest.mark.role("labeler")

_WAIT_S = 10.0
_QUIET_S = 0.7


def _labels_of(frame: Frame) -> list[dict[str, Any]]:
    """The labels of a ``#labels`` frame (data-model maps, ``sig`` as bytes)."""
    labels = frame.body.get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, dict) for label in labels):
        raise frame.fail("a labels array of label objects", labels)
    return labels


def _increasing(seqs: list[int | None]) -> bool:
    return all(a is not None and b is not None and a < b for a, b in itertools.pairwise(seqs))


def _uris(frames: list[Frame]) -> list[str]:
    return [str(label.get("uri")) for f in frames if f.t == "#labels" for label in _labels_of(f)]


def _carries(uri: str) -> Any:
    return lambda frame: frame.t == "#labels" and any(label.get("uri") == uri for label in _labels_of(frame))


@pytest.fixture
def live(labeler: Labeler) -> Iterator[Subscription]:
    """A subscription without a cursor, opened before the test makes its labels."""
    with labeler.subscribe() as sub:
        yield sub


def _made(labeler: Labeler, count: int = 1, **fields: Any) -> list[CreatedLabel]:
    return create_labels(
        labeler, *({"uri": fresh_subject(), "val": "streamed", **fields} for _ in range(count))
    )


@pytest.mark.requirement("SYNC-ES-01", "SYNC-ES-03", "SYNC-ES-04", "SYNC-ES-05", "LBL-API-02")
@pytest.mark.needs("label.create", "label.subscribe")
def test_a_new_label_arrives_as_a_labels_frame(labeler: Labeler, live: Subscription) -> None:
    """A label made while subscribed arrives in a frame with header ``{op: 1, t: "#labels"}`` and a
    payload ``{seq, labels}`` matching the Lexicon (no ``$type``: the header names the type)."""
    (made,) = _made(labeler)
    frames = live.read_until(_carries(made.label["uri"]), _WAIT_S, what="a #labels frame with the new label")
    frame = frames[-1]
    expect_equal(frame.header, {"op": 1, "t": "#labels"}, "the frame header")
    expect("$type" not in frame.body, "a payload without $type", sorted(frame.body))
    expect_frame_lexicon(frame)


@pytest.mark.requirement("LBL-SIG-01", "CRY-SIG-01")
@pytest.mark.needs("label.create", "label.subscribe", "identity.plc")
def test_streamed_labels_verify_with_the_label_key(
    labeler: Labeler, labeler_key: PublicKey, live: Subscription
) -> None:
    """Every label in the frames verifies with the ``#atproto_label`` key (the oracle re-encodes it)."""
    made = _made(labeler, 3, exp="2099-01-01T00:00:00.000Z")
    frames = live.read_until(_carries(made[-1].label["uri"]), _WAIT_S, what="the third new label")
    checked = 0
    for frame in frames:
        for label in _labels_of(frame):
            expect_label_signed(label, labeler_key, f"the label in {frame.where}")
            checked += 1
    expect(checked >= 3, "the three new labels in the stream", checked)


@pytest.mark.requirement("SYNC-ES-09")
@pytest.mark.needs("label.create", "label.subscribe")
def test_seq_is_positive_and_increasing(labeler: Labeler, live: Subscription) -> None:
    """``seq`` is a positive integer below 2^53 and strictly increases from frame to frame."""
    made = _made(labeler, 5)
    frames = live.read_until(_carries(made[-1].label["uri"]), _WAIT_S, what="the fifth new label")
    seqs = [f.seq for f in frames if f.t == "#labels"]
    for frame in frames:
        seq = frame.seq
        if seq is None or not 0 < seq < 2**53:
            raise frame.fail("a seq that is a positive integer below 2^53", frame.body.get("seq"))
    expect(_increasing(seqs), "strictly increasing seq", seqs)


@pytest.mark.requirement("SYNC-ES-10")
@pytest.mark.needs("label.create", "label.subscribe")
def test_without_a_cursor_the_stream_starts_live(labeler: Labeler) -> None:
    """Labels made before a cursor-less subscription are not replayed to it."""
    _made(labeler)
    with labeler.subscribe() as sub:
        old = sub.drain(quiet=_QUIET_S, limit=_WAIT_S)
    expect(old == [], "no frame for labels made before subscribing", [f.summary() for f in old])


@pytest.mark.requirement("SYNC-ES-12", "LBL-API-02")
@pytest.mark.needs("label.create", "label.subscribe")
def test_a_cursor_replays_what_follows_then_continues_live(labeler: Labeler) -> None:
    """``cursor=N`` replays the persisted events from seq N on, in order, then carries on live, with no gap.

    The spec says "greater-or-equal" (event-stream §Sequence Numbers) while implementations commonly send
    only what follows N (the cursor being the last seq the client saw): both are accepted here.
    """
    first, *rest = _made(labeler, 3)
    wanted = [c.label["uri"] for c in rest]
    with labeler.subscribe(cursor=first.seq) as sub:
        replayed = sub.read_until(_carries(wanted[-1]), _WAIT_S, what="the replayed labels")
        (later,) = _made(labeler)
        live = sub.read_until(_carries(later.label["uri"]), _WAIT_S, what="the label made after replay")
    frames = replayed + live
    seqs = [f.seq for f in frames]
    expect(all(s is not None and s >= first.seq for s in seqs), f"no seq before the cursor {first.seq}", seqs)
    uris = _uris(frames)
    expect_equal([u for u in uris if u in wanted], wanted, "the replayed labels, in order")
    expect(later.label["uri"] in uris, "the live label after the replay", uris)
    expect(_increasing(seqs), "strictly increasing seq", seqs)


@pytest.mark.requirement("SYNC-ES-14", "LBL-API-03")
@pytest.mark.needs("label.create", "label.subscribe")
def test_cursor_zero_replays_the_history(labeler: Labeler) -> None:
    """``cursor=0`` replays from the start of the window; for a labeler that keeps its whole history, that
    includes every label this run made, in seq order."""
    made = _made(labeler, 2)
    with labeler.subscribe(cursor=0) as sub:
        frames = sub.read_until(_carries(made[-1].label["uri"]), _WAIT_S * 3, what="this test's labels")
    seqs = [f.seq for f in frames if f.t == "#labels"]
    expect(_increasing(seqs), "strictly increasing seq", seqs)
    expect(made[0].label["uri"] in _uris(frames), "the earlier label of this test in the replay", len(seqs))


@pytest.mark.requirement("SYNC-ES-11", "SYNC-ES-06", "LBL-API-02")
@pytest.mark.needs("label.create", "label.subscribe")
def test_a_future_cursor_gets_a_futurecursor_error_frame(labeler: Labeler) -> None:
    """A cursor beyond the latest seq gets an error frame first: header ``{op: -1}``, payload
    ``{error: "FutureCursor", message?}`` (the Lexicon's error)."""
    (made,) = _made(labeler)
    with labeler.subscribe(cursor=made.seq + 1_000_000) as sub:
        frame = sub.read(1, _WAIT_S)[0]
    expect_equal(frame.header, {"op": -1}, "the error frame's header")
    expect_equal(frame.body.get("error"), "FutureCursor", "the error name")
    expect(set(frame.body) <= {"error", "message"}, "an error payload {error, message?}", sorted(frame.body))


@pytest.mark.requirement("SYNC-ES-19")
@pytest.mark.needs("label.create", "label.subscribe")
def test_the_stream_closes_after_the_error_frame(labeler: Labeler) -> None:
    """After the ``FutureCursor`` error frame the server closes the stream, sending nothing more."""
    (made,) = _made(labeler)
    with labeler.subscribe(cursor=made.seq + 1_000_000) as sub:
        frames = sub.expect_closed(_WAIT_S)
    expect(len(frames) == 1, "the error frame and nothing after it", [f.summary() for f in frames])


@pytest.mark.requirement("LBL-LIFE-02", "LBL-API-02")
@pytest.mark.needs("label.create", "label.subscribe", "identity.plc")
def test_a_negation_is_broadcast(labeler: Labeler, labeler_key: PublicKey, live: Subscription) -> None:
    """A negation (same src, uri and val, ``neg: true``) goes out on the stream, signed like any label."""
    uri = fresh_subject()
    create_labels(labeler, {"uri": uri, "val": "spam"})
    create_labels(labeler, {"uri": uri, "val": "spam", "neg": True})
    frames = live.read_until(
        lambda f: (
            f.t == "#labels" and any(x.get("uri") == uri and x.get("neg") is True for x in _labels_of(f))
        ),
        _WAIT_S,
        what="the negation label",
    )
    negation = next(x for x in _labels_of(frames[-1]) if x.get("uri") == uri and x.get("neg") is True)
    expect_label_signed(negation, labeler_key, "the negation label")
    expect_equal(
        (negation.get("src"), negation.get("val")), (labeler.did, "spam"), "the negation's src and val"
    )


@pytest.mark.requirement("LBL-API-04")
@pytest.mark.needs("label.create", "label.subscribe")
def test_a_negated_label_leaves_the_history(labeler: Labeler) -> None:
    """Replaying history after a negation gives the negation but not the label it negates (label
    §Distribution: "Labels which have been negated have the original label removed from the stream, but
    the negation remains")."""
    uri = fresh_subject()
    (original,) = create_labels(labeler, {"uri": uri, "val": "spam"})
    create_labels(labeler, {"uri": uri, "val": "spam", "neg": True})
    with labeler.subscribe(cursor=original.seq - 1) as sub:
        frames = sub.read_until(
            lambda f: (
                f.t == "#labels" and any(x.get("neg") is True and x.get("uri") == uri for x in _labels_of(f))
            ),
            _WAIT_S,
            what="the negation in the replay",
        )
    kept = [
        x
        for f in frames
        if f.t == "#labels"
        for x in _labels_of(f)
        if x.get("uri") == uri and not x.get("neg")
    ]
    expect(kept == [], "the negated label gone from the replayed history", kept)


@pytest.mark.requirement("LBL-OBJ-01", "LBL-API-02")
@pytest.mark.needs("label.create", "label.subscribe")
def test_expiry_travels_with_the_label(labeler: Labeler, live: Subscription) -> None:
    """A label made with ``exp`` carries that exact ``exp`` on the stream (a datetime string)."""
    exp = "2031-06-01T12:00:00.000Z"
    (made,) = _made(labeler, exp=exp)
    frames = live.read_until(_carries(made.label["uri"]), _WAIT_S, what="the expiring label")
    label = next(x for x in _labels_of(frames[-1]) if x.get("uri") == made.label["uri"])
    expect_equal(label.get("exp"), exp, "the streamed label's exp")


@pytest.mark.requirement("SYNC-ES-02")
@pytest.mark.needs("label.subscribe")
def test_a_plain_get_without_upgrade_is_426(labeler: Labeler) -> None:
    """An HTTP GET of the stream without a WebSocket upgrade is answered 426 (event-stream §Connection)."""
    resp = labeler.client.request("GET", "/xrpc/com.atproto.label.subscribeLabels")
    expect_status(resp, 426)


@pytest.mark.requirement("SYNC-ES-02")
@pytest.mark.needs("label.subscribe")
def test_a_post_to_the_stream_is_405(labeler: Labeler) -> None:
    """A method other than GET on the stream endpoint is answered 405 (event-stream §Connection)."""
    resp = labeler.client.request("POST", "/xrpc/com.atproto.label.subscribeLabels", json={})
    expect_status(resp, 405)
