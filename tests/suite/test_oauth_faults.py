"""An authorization server that accepts plain PKCE, a reused code, or a token without DPoP, or a resource
server that signs service-auth tokens outside the granted ``rpc:`` permission, fails the OAuth suite's
verdicts; a well-behaved one passes them. So does one whose DPoP nonce never rotates.

The fault is a small in-process authorization and resource server (this file): PAR, an authorization endpoint
that approves at once, the token endpoint and ``getSession``, with DPoP nonces. It checks only what these
verdicts exercise (no signatures), and each mode breaks exactly one rule. The verdicts are the suite's own,
from :mod:`atcheck.suite.oauth_checks`, driven by the suite's client (:mod:`atcheck.suite.oauth`).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import importlib.util
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from atcheck.checks import ConformanceFailure
from atcheck.suite.oauth import FirstNonce, OAuthClient, discover, loopback_client
from atcheck.suite.oauth_checks import (
    malformed_glob_grants_nothing,
    plain_pkce_is_refused,
    reused_code_is_refused,
    rpc_permission_limits_service_auth,
    rpc_scope,
    token_without_dpop_is_refused,
)
from atcheck.suite.oauth_signin import sign_in_by_redirect
from atcheck.xrpc.client import XrpcClient

NONCE = "fake-nonce-1"


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


class FakeAuthorizationServer(BaseHTTPRequestHandler):
    """One authorization and resource server; ``mode`` is ``good`` or the one rule it breaks."""

    mode: ClassVar[str] = "good"
    base: ClassVar[str] = ""
    requests: ClassVar[dict[str, dict[str, str]]] = {}
    codes: ClassVar[dict[str, dict[str, str]]] = {}
    tokens: ClassVar[dict[str, str]] = {}  # access token -> the JWK (JSON) it is bound to
    scopes: ClassVar[dict[str, str]] = {}  # access token -> the scope granted

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("DPoP-Nonce", NONCE)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> str:
        return self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()

    def _proof_jwk(self) -> str | None:
        """The JWK of a DPoP proof carrying the current nonce (signatures are not checked here)."""
        proof = self.headers.get("DPoP")
        if not proof:
            return None
        if _jwt_part(proof, 1).get("nonce") != NONCE:
            return "stale"
        return json.dumps(_jwt_part(proof, 0)["jwk"], sort_keys=True)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/oauth-protected-resource":
            self._send(200, {"resource": self.base, "authorization_servers": [self.base]})
        elif url.path == "/.well-known/oauth-authorization-server":
            self._send(200, self._metadata())
        elif url.path == "/oauth/authorize":
            request = self.requests.pop(query.get("request_uri", ""), None)
            if request is None:
                self._send(400, {"error": "invalid_request"})
                return
            code = secrets.token_hex(8)
            self.codes[code] = request
            params = {"code": code, "state": request["state"], "iss": self.base}
            self.send_response(303)
            self.send_header("Location", request["redirect_uri"] + "?" + urlencode(params))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/xrpc/com.atproto.server.getSession":
            self._get_session()
        elif url.path == "/xrpc/com.atproto.server.getServiceAuth":
            self._get_service_auth(query)
        else:
            self._send(404, {"error": "NotFound"})

    def _get_session(self) -> None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        bound = self.tokens.get(token)
        if bound is None:
            self._send(401, {"error": "InvalidToken"})
        elif self.mode == "no-dpop" or (scheme == "DPoP" and self._proof_jwk() == bound):
            self._send(200, {"did": "did:plc:fakefakefakefakefakefake", "handle": "fake.test"})
        else:
            self._send(
                401, {"error": "invalid_dpop_proof"}, {"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'}
            )

    def _get_service_auth(self, query: dict[str, str]) -> None:
        """A service-auth token (unsigned: only its claims are read) when the token's scope grants
        ``rpc:<lxm>?aud=<aud>``, or always in mode ``rpc-unchecked``."""
        _, _, token = self.headers.get("Authorization", "").partition(" ")
        aud, lxm = query.get("aud", ""), query.get("lxm", "")
        granted = rpc_scope(lxm, aud) in self.scopes.get(token, "").split()
        if self.mode != "rpc-unchecked" and not granted:
            self._send(403, {"error": "InsufficientScope"})
            return
        claims = base64.urlsafe_b64encode(json.dumps({"aud": aud, "lxm": lxm}).encode()).decode().rstrip("=")
        self._send(200, {"token": f"e30.{claims}.c2ln"})

    def do_POST(self) -> None:
        raw = self._body()
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        jwk = self._proof_jwk()
        if jwk is None or jwk == "stale":
            self._send(400, {"error": "use_dpop_nonce"})
        elif self.path == "/xrpc/com.atproto.repo.createRecord":
            self._create_record(json.loads(raw))
        elif self.path == "/oauth/par":
            self._par(form)
        elif self.path == "/oauth/token":
            self._token(form, jwk)
        else:
            self._send(404, {"error": "not_found"})

    def _create_record(self, body: dict[str, Any]) -> None:
        """A write allowed by a ``repo:`` permission of the token: its collection exactly or ``*``; in mode
        ``glob-loose``, also any shell-style pattern that matches (the fault)."""
        _, _, token = self.headers.get("Authorization", "").partition(" ")
        collection = str(body.get("collection"))
        granted = [
            p.removeprefix("repo:") for p in self.scopes.get(token, "").split() if p.startswith("repo:")
        ]
        loose = self.mode == "glob-loose" and any(fnmatch.fnmatchcase(collection, g) for g in granted)
        if collection in granted or "*" in granted or loose:
            self._send(200, {"uri": f"at://did:plc:fake/{collection}/1", "cid": "bafy"})
        else:
            self._send(403, {"error": "InsufficientScope"})

    def _par(self, form: dict[str, str]) -> None:
        method = form.get("code_challenge_method")
        if method != "S256" and not (self.mode == "accept-plain" and method == "plain"):
            self._send(400, {"error": "invalid_request", "error_description": "PKCE S256 is required"})
            return
        request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_hex(8)
        self.requests[request_uri] = form
        self._send(201, {"request_uri": request_uri, "expires_in": 60})

    def _token(self, form: dict[str, str], jwk: str) -> None:
        code = form.get("code", "")
        request = self.codes.get(code) if self.mode == "reuse-code" else self.codes.pop(code, None)
        if request is None:
            self._send(400, {"error": "invalid_grant"})
            return
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        expected = verifier if request["code_challenge_method"] == "plain" else digest
        if expected != request["code_challenge"]:
            self._send(400, {"error": "invalid_grant"})
            return
        access = secrets.token_hex(16)
        self.tokens[access] = jwk
        self.scopes[access] = request.get("scope", "atproto")
        body = {
            "access_token": access,
            "token_type": "DPoP",
            "refresh_token": secrets.token_hex(16),
            "scope": request.get("scope", "atproto"),
            "sub": "did:plc:fakefakefakefakefakefake",
            "expires_in": 300,
        }
        self._send(200, body)

    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.base,
            "authorization_endpoint": self.base + "/oauth/authorize",
            "token_endpoint": self.base + "/oauth/token",
            "pushed_authorization_request_endpoint": self.base + "/oauth/par",
            "revocation_endpoint": self.base + "/oauth/revoke",
            "require_pushed_authorization_requests": True,
            "code_challenge_methods_supported": ["S256"],
        }

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the verdicts carry the evidence."""


@pytest.fixture(scope="module")
def fake_as() -> Iterator[XrpcClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAuthorizationServer)
    FakeAuthorizationServer.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = XrpcClient(FakeAuthorizationServer.base, timeout_s=5)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


ACCOUNT = SimpleNamespace(handle="fake.test", password="unused", did="did:plc:fakefakefakefakefakefake")


def _plain(client: OAuthClient) -> None:
    plain_pkce_is_refused(client)


def _reused(client: OAuthClient) -> None:
    reused_code_is_refused(client, ACCOUNT, sign_in_by_redirect)


def _no_dpop(client: OAuthClient) -> None:
    token_without_dpop_is_refused(client, client.login(ACCOUNT, sign_in_by_redirect))


def _rpc(client: OAuthClient) -> None:
    aud, lxm = "did:web:svc.fake.test#svc", "com.example.fake.ping"
    scoped = OAuthClient(client.server, loopback_client(f"atproto {rpc_scope(lxm, aud)}"))
    tokens = scoped.login(ACCOUNT, sign_in_by_redirect)
    rpc_permission_limits_service_auth(scoped, tokens, (lxm, aud), "did:web:other.fake.test#svc", "x.y.z")


def _glob(client: OAuthClient) -> None:
    malformed_glob_grants_nothing(
        client.server, ACCOUNT, "com.example.fake.al*", "com.example.fake.allowed", sign_in_by_redirect
    )


#: Each fault, the verdict that must catch it, and what its failure must say (so that a failure of some
#: earlier step cannot pass for the verdict).
VERDICTS: dict[str, tuple[Callable[[OAuthClient], None], str]] = {
    "accept-plain": (_plain, "code_challenge_method=plain to be refused"),
    "reuse-code": (_reused, "same authorization code to be refused"),
    "no-dpop": (_no_dpop, "sent as a Bearer token without a proof to be refused"),
    "glob-loose": (
        _glob,
        "a write to com.example.fake.allowed with a token granting repo:com.example.fake.al*",
    ),
    "rpc-unchecked": (_rpc, "getServiceAuth for lxm x.y.z with a token granting only"),
}


@pytest.mark.parametrize("fault", sorted(VERDICTS))
def test_the_verdict_fails_the_faulty_server(fake_as: XrpcClient, fault: str) -> None:
    FakeAuthorizationServer.mode = fault
    client = OAuthClient(discover(fake_as), loopback_client())
    verdict, says = VERDICTS[fault]
    with pytest.raises(ConformanceFailure, match=re.escape(says)):
        verdict(client)


@pytest.mark.parametrize("fault", sorted(VERDICTS))
def test_the_verdict_passes_a_well_behaved_server(fake_as: XrpcClient, fault: str) -> None:
    FakeAuthorizationServer.mode = "good"
    client = OAuthClient(discover(fake_as), loopback_client())
    VERDICTS[fault][0](client)


def _nonce_rotation_verdict() -> Callable[[OAuthClient, FirstNonce], None]:
    """The suite's own OAUTH-DPOP-03 test function (suites are not packages: loaded from its file)."""
    path = Path(__file__).resolve().parents[2] / "suites" / "oauth" / "test_oauth_dpop.py"
    spec = importlib.util.spec_from_file_location("atcheck_selftest_oauth_dpop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    verdict: Callable[[OAuthClient, FirstNonce], None] = (
        module.test_the_server_nonce_rotates_within_five_minutes
    )
    return verdict


def test_a_nonce_that_never_rotates_fails(fake_as: XrpcClient) -> None:
    """The fake's nonce is fixed: first seen more than 5 minutes ago and still the same, it fails at once."""
    FakeAuthorizationServer.mode = "good"
    client = OAuthClient(discover(fake_as), loopback_client())
    seen = FirstNonce(client.current_nonce(), time.monotonic() - 400)
    with pytest.raises(ConformanceFailure, match="a new DPoP nonce within 300 s"):
        _nonce_rotation_verdict()(client, seen)


def test_a_nonce_that_changed_since_the_first_passes(fake_as: XrpcClient) -> None:
    FakeAuthorizationServer.mode = "good"
    client = OAuthClient(discover(fake_as), loopback_client())
    _nonce_rotation_verdict()(client, FirstNonce("an-earlier-nonce", time.monotonic()))
