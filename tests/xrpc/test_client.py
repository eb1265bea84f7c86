"""The XRPC client: requests as XRPC says, evidence of every exchange, limits against hostile servers."""

from __future__ import annotations

import json
import socket

import pytest

from atcheck.checks import ConformanceFailure
from atcheck.xrpc.client import EVIDENCE_BODY_CHARS, TransportFailure, XrpcClient

from .conftest import ScriptedServer, slow


def test_query_encodes_params_the_xrpc_way(server: ScriptedServer) -> None:
    server.reply("GET", "/xrpc/com.example.q", 200, b'{"ok": true}', "application/json")
    client = XrpcClient(server.url)
    resp = client.query("com.example.q", {"limit": 5, "reverse": True, "skip": None, "tags": ["a", "b"]})
    assert resp.status == 200
    assert resp.json() == {"ok": True}
    _, path, _, _ = server.seen[-1]
    assert path == "/xrpc/com.example.q?limit=5&reverse=true&tags=a&tags=b"


def test_procedure_sends_json_and_bearer_token(server: ScriptedServer) -> None:
    server.reply("POST", "/xrpc/com.example.p", 200, b"{}", "application/json; charset=utf-8")
    resp = XrpcClient(server.url, token="tok").procedure("com.example.p", {"a": 1})
    _, _, headers, body = server.seen[-1]
    assert headers["Authorization"] == "Bearer tok"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"a": 1}
    assert resp.content_type == "application/json"


def test_every_exchange_is_recorded_as_evidence(server: ScriptedServer) -> None:
    big = b'"' + b"x" * (EVIDENCE_BODY_CHARS * 2) + b'"'
    server.reply("GET", "/xrpc/com.example.big", 500, big, "application/json")
    client = XrpcClient(server.url)
    client.query("com.example.big")
    client.with_token("t2").query("com.example.missing")
    first, second = client.recorder.exchanges
    assert first.status == 500 and first.method == "GET"
    assert first.response_body is not None and "more bytes" in first.response_body
    assert len(first.response_body) < EVIDENCE_BODY_CHARS + 100
    assert second.status == 404
    assert second.request_headers["Authorization"] == "Bearer t2"  # the report writers scrub it


def test_binary_bodies_are_summarised_in_evidence(server: ScriptedServer) -> None:
    server.reply("GET", "/xrpc/com.example.car", 200, b"\x00\x01\x02", "application/vnd.ipld.car")
    client = XrpcClient(server.url)
    assert client.query("com.example.car").content == b"\x00\x01\x02"
    assert client.recorder.exchanges[0].response_body == "[3 bytes of application/vnd.ipld.car]"


def test_non_json_body_is_a_conformance_failure_naming_the_request(server: ScriptedServer) -> None:
    server.reply("GET", "/xrpc/com.example.html", 200, b"<html>oops</html>", "text/html")
    resp = XrpcClient(server.url).query("com.example.html")
    with pytest.raises(ConformanceFailure) as caught:
        resp.json()
    message = str(caught.value)
    assert "expected a JSON body" in message
    assert "GET " in message and "/xrpc/com.example.html" in message


def test_a_body_over_the_cap_is_refused(server: ScriptedServer) -> None:
    server.reply("GET", "/xrpc/com.example.huge", 200, b"y" * 5000, "application/octet-stream")
    with pytest.raises(TransportFailure, match="larger than 1000 bytes"):
        XrpcClient(server.url, max_body_bytes=1000).query("com.example.huge")


def test_a_server_that_never_answers_times_out(server: ScriptedServer) -> None:
    server.routes[("GET", "/xrpc/com.example.slow")] = slow(2.0)
    client = XrpcClient(server.url, timeout_s=0.3)
    with pytest.raises(TransportFailure, match=r"no answer within 0\.3 s"):
        client.query("com.example.slow")
    assert client.recorder.exchanges[-1].response_body == "[no answer within 0.3 s]"


def test_a_refused_connection_is_a_transport_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportFailure, match="ConnectError"):
        XrpcClient(f"http://127.0.0.1:{port}", timeout_s=2).query("com.example.q")


def test_the_recorder_keeps_a_bounded_number_of_exchanges(server: ScriptedServer) -> None:
    server.reply("GET", "/xrpc/com.example.q", 200, b"{}", "application/json")
    client = XrpcClient(server.url)
    client.recorder.limit = 3
    for _ in range(5):
        client.query("com.example.q")
    assert len(client.recorder.exchanges) == 3
    assert client.recorder.dropped == 2
