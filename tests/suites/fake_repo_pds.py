"""A small in-process PDS for the suites' self-tests: correct by default, with faults to plant one at a time.

It serves just what the weak-test self-tests call (putRecord, createRecord, getRecord, getSession,
refreshSession), keeps records in memory, and judges writes the way the spec asks: floats, integers outside
i64 and malformed ``$link``/``$bytes`` objects are refused with 400 whatever the validation mode; a
``validate: true`` write of an unknown Lexicon is refused; ``validate: false`` skips Lexicon checks; every
success reports ``validationStatus``. Each name in :data:`FAULTS` breaks one of those rules, so a self-test
can show that a suite test fails on exactly the fault it claims to catch, and passes on the correct server.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from atcheck.accounts import Account
from atcheck.oracle.cbor import cid_for_record
from atcheck.oracle.cid import compute_cid, parse_cid
from atcheck.oracle.errors import OracleError
from atcheck.syntax import encode_tid
from atcheck.xrpc.client import XrpcClient

FAULTS = {
    "store_then_fail": "an invalid write is stored anyway, and answered 500",
    "refuse_but_store": "an invalid or unauthenticated write is answered 400/401, but stored anyway",
    "get_500": "getRecord answers 500 for everything",
    "round_ints": "integers are parsed as floats (rounded beyond 53 bits), as a careless JSON parser does",
    "malformed_ok_when_unset": "malformed $link/$bytes are refused only with validate=false",
    "no_validation_status": "write answers carry no validationStatus",
    "validate_true_ignored": "validate=true stores a record of an unknown Lexicon",
    "get_runs_procedures": "a GET to refreshSession is served, spending the refresh token",
    "refresh_writes": "a refresh token is accepted for writes",
}
DID = "did:plc:fakefakefakefakefakefake"
KNOWN_LEXICONS = {"app.bsky.feed.post": ("text", "createdAt")}


def _jwt(typ: str, sub: str) -> str:
    def b64(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{b64({'typ': typ, 'alg': 'ES256K'})}.{b64({'sub': sub})}.c2ln"


class Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error = status, error


def _cid(value: Any) -> str:
    """The record's CID; for a value outside the data model (stored by a faulty server), one of its JSON."""
    try:
        return cid_for_record(value)
    except OracleError:
        return str(compute_cid(json.dumps(value, sort_keys=True).encode()))


def _no_floats(text: str) -> float:
    raise Refused(400, "InvalidRequest", f"floats are not allowed: {text}")


def _i64(text: str) -> int:
    n = int(text)
    if not -(2**63) <= n < 2**63:
        raise Refused(400, "InvalidRequest", f"integer outside i64: {text}")
    return n


def _check_data_model(value: Any) -> None:
    if isinstance(value, dict):
        if "$link" in value:
            link = value["$link"]
            if set(value) != {"$link"} or not isinstance(link, str):
                raise Refused(400, "InvalidRequest", "malformed $link")
            try:
                parse_cid(link)
            except Exception:
                raise Refused(400, "InvalidRequest", "malformed $link") from None
        if "$bytes" in value:
            data = value["$bytes"]
            if set(value) != {"$bytes"} or not isinstance(data, str):
                raise Refused(400, "InvalidRequest", "malformed $bytes")
            try:
                base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
            except ValueError:
                raise Refused(400, "InvalidRequest", "malformed $bytes") from None
        for item in value.values():
            _check_data_model(item)
    elif isinstance(value, list):
        for item in value:
            _check_data_model(item)


@dataclass
class FakePds:
    faults: set[str] = field(default_factory=set)
    records: dict[tuple[str, str], Any] = field(default_factory=dict)
    access: str = field(default_factory=lambda: _jwt("at+jwt", DID))
    refresh: str = field(default_factory=lambda: _jwt("refresh+jwt", DID + "#r0"))
    _serial: int = 0
    url: str = ""

    # -- what the handler calls --------------------------------------------------------------------------

    def bearer(self, headers: Any) -> str | None:
        auth = headers.get("Authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    def write(self, token: str | None, raw: bytes, create: bool) -> tuple[int, Any]:
        writer_ok = token == self.access or ("refresh_writes" in self.faults and token == self.refresh)
        parse_int = (lambda s: int(float(s))) if "round_ints" in self.faults else _i64
        try:
            body = json.loads(raw, parse_float=_no_floats, parse_int=parse_int)
        except Refused as refused:
            body = json.loads(raw, parse_float=float, parse_int=int)  # what a faulty server would keep
            return self._refuse(refused, body)
        except ValueError:
            return 400, {"error": "InvalidRequest", "message": "body is not JSON"}
        collection, record = body.get("collection"), body.get("record")
        rkey = body.get("rkey") or f"3kfake{self._next():06d}"
        if not writer_ok:
            return self._refuse(Refused(401, "AuthMissing", "authentication required"), body, rkey=rkey)
        try:
            validate = body.get("validate")
            if not ("malformed_ok_when_unset" in self.faults and validate is None):
                _check_data_model(record)
            known = KNOWN_LEXICONS.get(str(collection))
            if validate is True and known is None and "validate_true_ignored" not in self.faults:
                raise Refused(400, "InvalidRequest", f"unknown Lexicon {collection}")
            if known is not None and validate is not False:
                missing = [f for f in known if f not in record]
                if missing:
                    raise Refused(400, "InvalidRequest", f"missing required {missing[0]}")
        except Refused as refused:
            return self._refuse(refused, body, rkey=rkey)
        self.records[(str(collection), str(rkey))] = record
        answer: dict[str, Any] = {
            "uri": f"at://{DID}/{collection}/{rkey}",
            "cid": _cid(record),
            "commit": {
                "cid": cid_for_record({"n": self._serial}),
                "rev": encode_tid(1_700_000_000_000_000 + self._next(), 0),
            },
        }
        if "no_validation_status" not in self.faults:
            answer["validationStatus"] = "unknown" if known is None or validate is False else "valid"
        return 200, answer

    def _refuse(self, refused: Refused, body: Any, *, rkey: str | None = None) -> tuple[int, Any]:
        storing = "store_then_fail" in self.faults or "refuse_but_store" in self.faults
        if storing and isinstance(body, dict) and body.get("collection"):
            key = (str(body["collection"]), str(rkey or body.get("rkey")))
            self.records[key] = body.get("record")
        if "store_then_fail" in self.faults:
            return 500, {"error": "InternalServerError", "message": "Internal Server Error"}
        return refused.status, {"error": refused.error, "message": str(refused)}

    def get_record(self, params: dict[str, str]) -> tuple[int, Any]:
        if "get_500" in self.faults:
            return 500, {"error": "InternalServerError", "message": "Internal Server Error"}
        key = (params.get("collection", ""), params.get("rkey", ""))
        if key not in self.records:
            return 400, {"error": "RecordNotFound", "message": "Could not locate record"}
        value = self.records[key]
        return 200, {"uri": f"at://{DID}/{key[0]}/{key[1]}", "cid": _cid(value), "value": value}

    def refresh_session(self, token: str | None) -> tuple[int, Any]:
        if token != self.refresh:
            return 400, {"error": "InvalidToken", "message": "not a refresh token"}
        self.access = _jwt("at+jwt", f"{DID}#{self._next()}")
        self.refresh = _jwt("refresh+jwt", f"{DID}#r{self._serial}")
        return 200, {"accessJwt": self.access, "refreshJwt": self.refresh, "handle": "alice.test", "did": DID}

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def account(self, *, refresh: bool = True) -> Account:
        client = XrpcClient(self.url, token=self.access)
        return Account(DID, "alice.test", self.access, self.refresh if refresh else None, client)


def _handler(pds: FakePds) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            from urllib.parse import parse_qsl, urlsplit

            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query))
            token = pds.bearer(self.headers)
            if url.path == "/xrpc/com.atproto.repo.getRecord":
                self._send(*pds.get_record(params))
            elif url.path == "/xrpc/com.atproto.server.getSession":
                ok = token == pds.access
                self._send(
                    *((200, {"did": DID, "handle": "alice.test"}) if ok else (400, {"error": "InvalidToken"}))
                )
            elif url.path == "/xrpc/com.atproto.server.refreshSession":
                if "get_runs_procedures" in pds.faults:
                    self._send(*pds.refresh_session(token))
                else:
                    self._send(400, {"error": "InvalidRequest", "message": "Incorrect HTTP method (GET)"})
            else:
                self._send(501, {"error": "MethodNotImplemented", "message": "no such method"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            token = pds.bearer(self.headers)
            path = self.path.split("?")[0]
            if path in ("/xrpc/com.atproto.repo.putRecord", "/xrpc/com.atproto.repo.createRecord"):
                self._send(*pds.write(token, raw, create=path.endswith("createRecord")))
            elif path == "/xrpc/com.atproto.server.refreshSession":
                self._send(*pds.refresh_session(token))
            else:
                self._send(501, {"error": "MethodNotImplemented", "message": "no such method"})

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def serve(*faults: str) -> Iterator[FakePds]:
    """A fake PDS on 127.0.0.1 with the named faults planted, stopped on exit."""
    unknown = set(faults) - set(FAULTS)
    assert not unknown, f"unknown faults {unknown}"
    pds = FakePds(faults=set(faults))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pds))
    pds.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield pds
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
