"""Event-stream framing on ``com.atproto.sync.subscribeRepos``: the WebSocket, the two CBOR objects, headers.

Spec: https://atproto.com/specs/event-stream (§Connection, §Framing, §Sequence Numbers) and
https://atproto.com/specs/sync (§Repository Event Stream). Every frame any test receives is decoded by
atcheck's strict DAG-CBOR decoder; the tests here judge the frames of the recorded history (conftest.py):
a new account's creation and a dozen writes, as a live subscriber saw them.
"""

from __future__ import annotations

import pytest

from atcheck.suite import History, TargetUnderTest, expect_status, message_errors

pytestmark = pytest.mark.needs("sync.subscribe-repos")

KNOWN_TYPES = ("#commit", "#sync", "#identity", "#account", "#info")
LEGACY_TYPES = ("#handle", "#tombstone", "#migrate", "#repoOp")
SEQ_LIMIT = 2**53
FRAME_LIMIT = 5_000_000


@pytest.mark.requirement("SYNC-ES-01", "SYNC-FH-22")
def test_subscribing_needs_no_auth_and_gives_binary_frames(history: History) -> None:
    """The history's subscription was a plain WebSocket upgrade without credentials (the Lexicon: "Public
    and does not require auth") and received binary frames: any text message or failed upgrade fails here."""
    history.require_complete()
    assert history.frames, "the history recorded no frame"


@pytest.mark.requirement("SYNC-ES-03")
def test_every_frame_is_two_strict_dag_cbor_objects(history: History) -> None:
    """Each frame is exactly a header object then a payload object, both canonical DAG-CBOR, with no
    trailing bytes (the subscription's decoder refuses anything else and names the frame and byte)."""
    history.require_complete()
    assert history.frames


@pytest.mark.requirement("SYNC-ES-04")
def test_headers_carry_op_and_a_short_type(history: History) -> None:
    """``op`` is 1 or -1; a message (op 1) names its type ``t`` as a fragment (``#commit``); an error
    frame (op -1) has no ``t``."""
    for frame in history.frames:
        op, t = frame.header.get("op"), frame.header.get("t")
        if op not in (1, -1) or isinstance(op, bool):
            raise frame.fail("header op 1 or -1", frame.header)
        if op == 1 and not (isinstance(t, str) and t.startswith("#") and len(t) > 1 and "." not in t):
            raise frame.fail("a message header with t in short form, like '#commit'", frame.header)
        if op == -1 and "t" in frame.header:
            raise frame.fail("no t in an error frame's header", frame.header)
    history.require_complete()


@pytest.mark.requirement("SYNC-ES-05")
def test_payloads_are_objects_without_type(history: History) -> None:
    """Payloads are maps (checked by the decoder) and omit ``$type``: the header already names it."""
    for frame in history.frames:
        if "$type" in frame.body:
            raise frame.fail("a payload without $type", frame.body["$type"])
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-01")
def test_messages_are_the_lexicon_types_with_their_fields(history: History) -> None:
    """Every message is one of the Lexicon's types and validates against it (``seq``, ``did``/``repo``,
    ``time`` as a datetime, and each type's own fields)."""
    for frame in history.frames:
        if frame.is_error:
            continue
        if frame.t not in KNOWN_TYPES:
            raise frame.fail(f"a message type of subscribeRepos ({', '.join(KNOWN_TYPES)})", frame.t)
        errors = message_errors(frame)
        if errors:
            raise frame.fail(f"a {frame.t} payload valid against the Lexicon", "; ".join(errors[:5]))
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-20")
def test_no_legacy_event_types(history: History) -> None:
    """``#handle``, ``#tombstone`` and ``#migrate`` were retired by Sync 1.1 and are no longer emitted,
    not even for a new account (where ``#handle`` used to be sent)."""
    for frame in history.frames:
        if frame.t in LEGACY_TYPES:
            raise frame.fail("no legacy event types (#handle, #tombstone, #migrate)", frame.t)
    history.require_complete()


@pytest.mark.requirement("SYNC-ES-09")
def test_seq_is_positive_increasing_and_below_2_53(history: History) -> None:
    """Every message of subscribeRepos has a ``seq``, a positive integer below 2^53, strictly increasing
    along the stream (gaps allowed)."""
    last: int | None = None
    for frame in history.frames:
        if frame.is_error or frame.t == "#info":
            continue
        seq = frame.seq
        if seq is None or not 0 < seq < SEQ_LIMIT:
            raise frame.fail("an integer seq with 0 < seq < 2^53", frame.body.get("seq"))
        if last is not None and seq <= last:
            raise frame.fail(f"a seq above the previous frame's {last}", seq)
        last = seq
    history.require_complete()


@pytest.mark.requirement("SYNC-FH-02")
def test_frames_stay_within_5_mb(history: History) -> None:
    """The firehose's hard limit is 5 MB per WebSocket frame, all overhead included. (Only the frames of
    the history are measured: atcheck does not write records large enough to approach it.)"""
    for frame in history.frames:
        if frame.size > FRAME_LIMIT:
            raise frame.fail(f"a frame of at most {FRAME_LIMIT} bytes", f"{frame.size} bytes")
    history.require_complete()


@pytest.mark.requirement("SYNC-ES-02")
def test_a_non_get_request_gets_405(target: TargetUnderTest) -> None:
    """A POST to a stream endpoint is answered 405 Method Not Allowed (event-stream §Connection)."""
    resp = target.client("pds").request("POST", "/xrpc/com.atproto.sync.subscribeRepos")
    expect_status(resp, 405)


@pytest.mark.requirement("SYNC-ES-02")
def test_a_get_without_upgrade_gets_426(target: TargetUnderTest) -> None:
    """A plain GET (no ``Upgrade`` header) to a stream endpoint is answered 426 Upgrade Required."""
    resp = target.client("pds").request("GET", "/xrpc/com.atproto.sync.subscribeRepos")
    expect_status(resp, 426)
