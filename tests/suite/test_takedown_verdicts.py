"""The takedown tests fail a PDS that still serves a taken-down account, and pass one that refuses.

The suite's own test functions are run against a tiny fake PDS (a thread on 127.0.0.1) in two modes:
``serving`` answers every sync call as if nothing had happened; ``refusing`` answers with the Lexicon's
``RepoTakendown`` and a ``getRepoStatus`` of ``takendown``.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from atcheck.accounts import Account
from atcheck.checks import ConformanceFailure
from atcheck.xrpc.client import XrpcClient

SUITE = Path(__file__).resolve().parents[2] / "suites" / "moderation" / "test_takedown.py"
DID = "did:plc:abcdefghijklmnopqrstuvwx"


def _suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("atcheck_selftest_takedown", SUITE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _handler(mode: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            nsid = parts.path.removeprefix("/xrpc/")
            did = parse_qs(parts.query).get("did", [""])[0]
            if mode == "refusing" and nsid != "com.atproto.sync.getRepoStatus":
                self._send(400, {"error": "RepoTakendown", "message": "taken down"})
            elif nsid == "com.atproto.sync.getRepoStatus":
                status = {"active": False, "status": "takendown"} if mode == "refusing" else {"active": True}
                self._send(200, {"did": did, **status})
            else:
                self._send(200, b"\x0a\xa1", "application/vnd.ipld.car")

        def _send(self, status: int, body: object, kind: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _FakeTarget:
    def __init__(self, url: str) -> None:
        self._client = XrpcClient(url)

    def client(self, role: str = "pds") -> XrpcClient:
        return self._client


@pytest.fixture(params=["serving", "refusing"])
def pds(request: pytest.FixtureRequest) -> Iterator[tuple[str, _FakeTarget]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield request.param, _FakeTarget(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


CHECKS = [
    "test_get_repo_of_a_taken_down_account_is_repo_takendown",
    "test_get_latest_commit_of_a_taken_down_account_is_repo_takendown",
    "test_sync_get_record_of_a_taken_down_account_is_repo_takendown",
    "test_get_blob_of_a_taken_down_account_is_repo_takendown",
    "test_get_repo_status_says_takendown",
]


@pytest.mark.parametrize("check", CHECKS)
def test_a_pds_still_serving_a_taken_down_account_fails(pds: tuple[str, _FakeTarget], check: str) -> None:
    mode, target = pds
    account = Account(did=DID, handle="t.test", access_jwt="x", refresh_jwt=None, client=target.client())
    run: Any = getattr(_suite(), check)
    if mode == "serving":
        with pytest.raises(ConformanceFailure):
            run(target, (account, "td1", "bafkreigh2akiscaildc"))
    else:
        run(target, (account, "td1", "bafkreigh2akiscaildc"))
