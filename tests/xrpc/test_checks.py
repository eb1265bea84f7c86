"""Checks explain their failures: expected, got, and the request that produced it."""

from __future__ import annotations

import pytest

from atcheck.checks import (
    ConformanceFailure,
    expect_content_type,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    expect_valid,
)
from atcheck.xrpc.client import XrpcClient

from .conftest import ScriptedServer


def _get(server: ScriptedServer, status: int, body: bytes, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
    server.reply("GET", "/xrpc/com.example.x", status, body, content_type)
    return XrpcClient(server.url).query("com.example.x")


def test_expect_error_accepts_a_proper_envelope(server: ScriptedServer) -> None:
    resp = _get(server, 400, b'{"error": "InvalidRequest", "message": "bad"}')
    body = expect_error(resp, 400, "InvalidRequest")
    assert body["message"] == "bad"


@pytest.mark.parametrize(
    ("status", "body", "wanted"),
    [
        (500, b'{"error": "InvalidRequest"}', "expected HTTP 400"),
        (400, b"not json", "expected a JSON body"),
        (400, b'{"message": "no name"}', 'expected an "error" field'),
        (400, b'{"error": ""}', 'expected an "error" field'),
        (400, b'{"error": "X", "message": 5}', '"message" to be a string'),
        (400, b'{"error": "Other"}', "expected error InvalidRequest"),
        (400, b'["error"]', "expected an XRPC error body"),
    ],
)
def test_expect_error_rejects_bad_envelopes(
    server: ScriptedServer, status: int, body: bytes, wanted: str
) -> None:
    resp = _get(server, status, body)
    with pytest.raises(ConformanceFailure) as caught:
        expect_error(resp, 400, "InvalidRequest")
    message = str(caught.value)
    assert wanted in message
    assert "from GET http://127.0.0.1" in message and "/xrpc/com.example.x" in message


def test_expect_ok_wants_200_json_object(server: ScriptedServer) -> None:
    assert expect_ok(_get(server, 200, b'{"a": 1}')) == {"a": 1}
    with pytest.raises(ConformanceFailure, match="expected Content-Type application/json"):
        expect_ok(_get(server, 200, b'{"a": 1}', "text/plain"))
    with pytest.raises(ConformanceFailure, match="a JSON object body"):
        expect_ok(_get(server, 200, b"[1]"))


def test_expect_status_and_content_type_name_what_came_back(server: ScriptedServer) -> None:
    resp = _get(server, 404, b"", "application/octet-stream")
    with pytest.raises(ConformanceFailure, match="expected HTTP 200 or 201; got HTTP 404 with an empty body"):
        expect_status(resp, 200, 201)
    with pytest.raises(ConformanceFailure, match=r"Content-Type application/vnd\.ipld\.car"):
        expect_content_type(resp, "application/vnd.ipld.car")


def test_expect_equal_and_valid() -> None:
    expect_equal(1, 1, "one")
    with pytest.raises(ConformanceFailure, match="expected the CID to be b; got a"):
        expect_equal("a", "b", "the CID")
    schema = {"type": "object", "required": ["did"], "properties": {"did": {"type": "string"}}}
    expect_valid({"did": "x"}, schema, "describeServer output")
    with pytest.raises(ConformanceFailure, match="describeServer output to match its schema; got at /: "):
        expect_valid({}, schema, "describeServer output")


def test_expect_valid_enforces_lexicon_rules_json_schema_cannot_express() -> None:
    from atcheck.schema.registry import lexicon_schema

    schema = lexicon_schema("app.bsky.feed.post", "record")
    post = {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-01-01T00:00:00.000Z"}
    expect_valid(post, schema, "a post")
    with pytest.raises(ConformanceFailure, match="graphemes"):
        expect_valid({**post, "text": "é" * 301}, schema, "a post")  # maxGraphemes 300
    with pytest.raises(ConformanceFailure, match="createdAt"):
        expect_valid({**post, "createdAt": "2023-02-29T12:00:00Z"}, schema, "a post")
