"""A PLC directory that accepts a mutated operation fails the PLC suite's verdict; one that refuses passes.

The fault is a tiny in-process directory (this file) that stores every operation it is sent. Each case of
:data:`atcheck.suite.plc.MUTATIONS` is run through the suite's own verdict, :func:`expect_refused`, against
three behaviours: accept everything, answer 400 but keep the operation anyway, and refuse properly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from atcheck.checks import ConformanceFailure
from atcheck.oracle.errors import OracleError
from atcheck.oracle.plc import did_for_genesis, op_cid, replay_log
from atcheck.suite.plc import MUTATIONS, WRONG_FORM, Mutation, expect_refused, new_identity
from atcheck.xrpc.client import XrpcClient

#: The suite's mutated operations and its genesis operations under DIDs of the wrong form (SYN-DID-08).
CASES = (*MUTATIONS, *WRONG_FORM)


class FakePlc(BaseHTTPRequestHandler):
    """``POST /<did>`` stores the operation by ``mode``; ``GET /<did>/log/audit`` serves what was stored."""

    mode: ClassVar[str] = "accept-all"
    logs: ClassVar[dict[str, list[dict[str, Any]]]] = {}

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        did, _, rest = self.path.lstrip("/").partition("/")
        log = self.logs.get(did)
        if rest != "log/audit" or log is None:
            self._send(404, {"message": "DID not registered"})
        else:
            self._send(200, log)

    def do_POST(self) -> None:
        did = self.path.lstrip("/")
        op = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        keep = self.mode != "refuse" or self._valid_genesis(did, op)
        if keep:
            entry = {"did": did, "operation": op, "cid": op_cid(op), "nullified": False}
            entry["createdAt"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self.logs.setdefault(did, []).append(entry)
        genesis = len(self.logs.get(did, [])) == 1
        refused = (self.mode == "keep-but-answer-400" and not genesis) or not keep
        self._send(400 if refused else 200, {"message": "refused"} if refused else {})

    def _valid_genesis(self, did: str, op: dict[str, Any]) -> bool:
        """The only operations the well-behaved mode accepts: a correct genesis of a new DID."""
        keys = op.get("rotationKeys")
        if did in self.logs or not isinstance(keys, list) or not 1 <= len(keys) <= 5:
            return False
        try:
            return did_for_genesis(op) == did and replay_log(did, [op]) is not None
        except OracleError:
            return False

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the verdicts carry the evidence."""


@pytest.fixture(scope="module")
def fake_plc() -> Iterator[XrpcClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePlc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = XrpcClient(f"http://127.0.0.1:{server.server_address[1]}", timeout_s=5)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        FakePlc.logs.clear()


@pytest.mark.parametrize("mode", ["accept-all", "keep-but-answer-400"])
@pytest.mark.parametrize("mutation", CASES, ids=[m.name for m in CASES])
def test_a_directory_that_keeps_a_mutated_operation_fails(
    fake_plc: XrpcClient, mutation: Mutation, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakePlc, "mode", mode)
    FakePlc.logs.clear()
    ident = new_identity(fake_plc)
    did, op = mutation.build(ident)
    with pytest.raises(ConformanceFailure):
        expect_refused(fake_plc, did, op, mutation.why)


@pytest.mark.parametrize("mutation", CASES, ids=[m.name for m in CASES])
def test_a_directory_that_refuses_passes(
    fake_plc: XrpcClient, mutation: Mutation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakePlc, "mode", "refuse")
    FakePlc.logs.clear()
    ident = new_identity(fake_plc)
    did, op = mutation.build(ident)
    expect_refused(fake_plc, did, op, mutation.why)
