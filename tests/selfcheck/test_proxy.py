"""The fault proxy: transparent without a fault; a fault rewrites an answer, answers a request itself, or
rewrites the frames of a WebSocket stream; and it counts what it changed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from websockets.sync.client import connect
from websockets.sync.server import ServerConnection, serve

from atcheck.selfcheck.faults import Fault
from atcheck.selfcheck.proxy import Exchange, FaultProxy, StreamContext


class _Upstream(BaseHTTPRequestHandler):
    """Answers every request with what it received, so a test sees what the proxy forwarded."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        data = json.dumps({"method": self.command, "path": self.path, "body": body}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-upstream", "yes")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream: str) -> Iterator[FaultProxy]:
    p = FaultProxy("pds", upstream)
    yield p
    p.close()


def test_without_a_fault_the_proxy_is_transparent(proxy: FaultProxy) -> None:
    resp = httpx.post(proxy.url + "/xrpc/a.b.c?x=1&x=2&flag", content=b'{"k": 1}', timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"method": "POST", "path": "/xrpc/a.b.c?x=1&x=2&flag", "body": '{"k": 1}'}
    assert resp.headers["x-upstream"] == "yes"
    assert proxy.applied == 0


def _rename(ex: Exchange) -> bool:
    body = ex.json()
    body["method"] = "renamed"
    ex.set_json(body, 201)
    return True


def _answer_itself(ex: Exchange) -> bool:
    if ex.nsid == "x.y.skip":
        ex.set_json({"short": "circuit"}, 200)
        return True
    return False


def test_a_response_fault_rewrites_the_answer_and_is_counted(proxy: FaultProxy) -> None:
    proxy.set_fault(Fault("rename", "xrpc", "pds", ("xrpc",), "renames", on_response=_rename))
    resp = httpx.get(proxy.url + "/xrpc/a.b.c", timeout=10)
    assert resp.status_code == 201 and resp.json()["method"] == "renamed"
    assert proxy.applied == 1
    proxy.set_fault(None)
    assert httpx.get(proxy.url + "/xrpc/a.b.c", timeout=10).json()["method"] == "GET"
    assert proxy.applied == 0


def test_a_request_fault_may_answer_without_forwarding(proxy: FaultProxy) -> None:
    proxy.set_fault(Fault("skip", "records", "pds", ("repo",), "answers", on_request=_answer_itself))
    assert httpx.post(proxy.url + "/xrpc/x.y.skip", timeout=10).json() == {"short": "circuit"}
    assert httpx.get(proxy.url + "/xrpc/x.y.other", timeout=10).json()["path"] == "/xrpc/x.y.other"
    assert proxy.applied == 1


def test_a_fault_of_another_role_is_not_applied(proxy: FaultProxy) -> None:
    proxy.set_fault(Fault("rename", "identity", "plc", ("plc",), "renames", on_response=_rename))
    assert httpx.get(proxy.url + "/xrpc/a.b.c", timeout=10).json()["method"] == "GET"
    assert proxy.applied == 0


def _stream(connection: ServerConnection) -> None:
    for i in range(6):
        connection.send(bytes([i]))
    connection.close(4001, "done")


def _drop_odd(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    return [] if data[0] % 2 else None


def test_a_frame_fault_rewrites_the_stream_and_the_close_code_passes(tmp_path: object) -> None:
    with serve(_stream, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        proxy = FaultProxy("pds", f"http://127.0.0.1:{port}")
        try:
            proxy.set_fault(Fault("odd", "firehose", "pds", ("firehose",), "drops", on_frame=_drop_odd))
            ws_url = proxy.url.replace("http://", "ws://") + "/xrpc/com.atproto.sync.subscribeRepos?cursor=0"
            received = []
            with connect(ws_url, open_timeout=10) as ws:
                try:
                    while True:
                        received.append(ws.recv(timeout=10))
                except Exception:
                    pass
                code = ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None
            assert received == [b"\x00", b"\x02", b"\x04"]
            assert code == 4001
            assert proxy.applied == 3
        finally:
            proxy.close()
            server.shutdown()


def test_a_plc_proxy_names_the_proxies_in_did_documents_only(upstream: str) -> None:
    """The DID document points at the PDS proxy; signed data (``/data``) is passed on as the PLC sent it."""
    proxy = FaultProxy("plc", upstream)
    try:
        port = upstream.rsplit(":", 1)[1]
        # The fake upstream echoes the path, so the port appears in the body of both answers.
        proxy.relocations[f"http://127.0.0.1:{port}"] = "http://127.0.0.1:1"
        doc = httpx.get(f"{proxy.url}/did:plc:x?u=http://127.0.0.1:{port}/", timeout=10)
        data = httpx.get(f"{proxy.url}/did:plc:x/data?u=http://127.0.0.1:{port}/", timeout=10)
        assert "http://127.0.0.1:1/" in doc.json()["path"]
        assert f"http://127.0.0.1:{port}/" in data.json()["path"]
    finally:
        proxy.close()
