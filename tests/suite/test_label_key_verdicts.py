"""The label suite fails a labeler that signs with a key other than its DID document's, end to end.

The suite's own test functions run against a tiny fake labeler (a thread on 127.0.0.1) that is also its
PLC: ``GET /<did>`` gives a DID document whose ``#atproto_label`` key is the *published* key;
``POST /atcheck/labels`` makes labels signed (by atcheck's oracle) with the key of the mode: ``honest`` signs
with the published key, ``wrong-key`` with another one, ``rotated`` with the key the document named before
the labeler's key was rotated at the PLC. The key the suite verifies with is resolved the way its fixtures
do (the PLC's document, then its ``#atproto_label`` method), so the whole chain is exercised.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from atcheck.checks import ConformanceFailure
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.label import sign_label
from atcheck.suite.identity import did_document
from atcheck.suite.labels import Labeler, label_key
from atcheck.xrpc.client import XrpcClient

SUITE = Path(__file__).resolve().parents[2] / "suites" / "labels" / "test_label_objects.py"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
TOKEN = "selftest-token"


def _suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("atcheck_selftest_label_objects", SUITE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _FakeLabeler:
    """A labeler and its PLC in one: the document names ``published``; labels are signed with ``signer``."""

    def __init__(self, published: PrivateKey, signer: PrivateKey) -> None:
        self.published, self.signer = published, signer
        self.labels: list[dict[str, Any]] = []

    def document(self) -> dict[str, Any]:
        return {
            "id": DID,
            "verificationMethod": [
                {
                    "id": f"{DID}#atproto_label",
                    "type": "Multikey",
                    "controller": DID,
                    "publicKeyMultibase": self.published.public.multikey,
                }
            ],
            "service": [],
        }

    def make(self, wanted: dict[str, Any]) -> dict[str, Any]:
        value: dict[str, Any] = {"src": DID, "cts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        value.update({k: v for k, v in wanted.items() if k in ("uri", "cid", "val", "exp")})
        if wanted.get("neg"):
            value["neg"] = True
        signed = sign_label(value, self.signer)
        served = dict(signed)
        served["sig"] = {"$bytes": base64.b64encode(signed["sig"]).decode().rstrip("=")}
        self.labels.append(served)
        return served


def _handler(fake: _FakeLabeler) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == f"/{DID}":
                self._send(200, fake.document(), "application/did+ld+json")
            elif parts.path == "/xrpc/com.atproto.label.queryLabels":
                uris = parse_qs(parts.query).get("uriPatterns", [])
                self._send(200, {"labels": [x for x in fake.labels if x["uri"] in uris]})
            else:
                self._send(404, {"error": "NotFound", "message": parts.path})

        def do_POST(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": "AuthRequired", "message": "token"})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            made = [{"seq": 1, "label": fake.make(wanted)} for wanted in body["labels"]]
            self._send(200, {"labels": made})

        def _send(self, status: int, body: object, kind: str = "application/json") -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(params=["honest", "wrong-key", "rotated"])
def labeler(request: pytest.FixtureRequest) -> Iterator[tuple[str, Labeler, XrpcClient]]:
    first, second = PrivateKey.generate("k256"), PrivateKey.generate("k256")
    signers = {"honest": (first, first), "wrong-key": (first, second), "rotated": (second, first)}
    published, signer = signers[
        request.param
    ]  # rotated: the document names the new key; signing kept the old
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(_FakeLabeler(published, signer)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        client = XrpcClient(url)
        yield request.param, Labeler(None, url, DID, client, TOKEN), client  # type: ignore[arg-type]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("shape", ["account", "record-with-cid", "negation", "system-takedown"])
def test_a_labeler_signing_with_a_key_its_document_does_not_name_fails(
    labeler: tuple[str, Labeler, XrpcClient], shape: str
) -> None:
    mode, fake, plc = labeler
    key = label_key(did_document(plc, DID), DID)  # as the suite's labeler_key fixture resolves it
    check: Any = _suite().test_served_labels_verify_with_the_label_key
    if mode == "honest":
        check(fake, key, shape)
    else:
        with pytest.raises(ConformanceFailure, match="#atproto_label key"):
            check(fake, key, shape)
