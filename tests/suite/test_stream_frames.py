"""Event-stream frames as the suite layer decodes them: exactly a header map then a payload map, strictly."""

from __future__ import annotations

import cbrrr
import pytest

from atcheck.suite.stream import StreamFailure, decode_frame, stream_url


def _frame(header: object, body: object) -> bytes:
    return bytes(cbrrr.encode_dag_cbor(header)) + bytes(cbrrr.encode_dag_cbor(body))


def test_a_message_frame_decodes() -> None:
    frame = decode_frame(_frame({"op": 1, "t": "#labels"}, {"seq": 3, "labels": []}), stream="s", index=0)
    assert (frame.op, frame.t, frame.seq, frame.is_error) == (1, "#labels", 3, False)
    assert frame.json() == {"seq": 3, "labels": []}


def test_an_error_frame_decodes() -> None:
    frame = decode_frame(_frame({"op": -1}, {"error": "FutureCursor"}), stream="s", index=0)
    assert frame.is_error and frame.t is None and frame.seq is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("text", "binary WebSocket message"),
        (bytes(cbrrr.encode_dag_cbor({"op": 1})), "payload object after the frame header"),
        (_frame({"op": 1}, {"seq": 1}) + b"\x00", "exactly one strict DAG-CBOR object"),
        (_frame([1], {"seq": 1}), "header that is a CBOR map"),
        (_frame({"op": 1}, [1]), "payload that is a CBOR map"),
        (b"\xa2\x62op\x01\x61t\x01" + bytes(cbrrr.encode_dag_cbor({})), "strict DAG-CBOR"),
    ],
    ids=["text", "header-only", "trailing-byte", "header-list", "payload-list", "unsorted-header"],
)
def test_a_malformed_frame_is_a_stream_failure(data: bytes | str, problem: str) -> None:
    with pytest.raises(StreamFailure, match=problem):
        decode_frame(data, stream="s", index=4)


def test_the_stream_url_is_the_xrpc_path_over_ws() -> None:
    assert stream_url("http://127.0.0.1:5/", "com.atproto.label.subscribeLabels", 0) == (
        "ws://127.0.0.1:5/xrpc/com.atproto.label.subscribeLabels?cursor=0"
    )
    assert stream_url("https://x.test", "a.b.c").startswith("wss://x.test/xrpc/a.b.c")
