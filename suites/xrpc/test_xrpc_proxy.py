"""Service proxying: a PDS forwards ``atproto-proxy`` requests to the service a DID document names.

Spec: https://atproto.com/specs/xrpc#service-proxying. "The PDS resolves the service DID, extracts a service
endpoint URL from the DID document, and proxies the request on to the identified server", "with an
inter-service authentication token (JWT, described above) issued and signed by the user's identity", and only
when "the request must be from an authenticated user with an active account on the PDS".

The PDS under test is real; the upstream it forwards to is a small service this module runs on 127.0.0.1 for
the duration of the module: a ``did:web:localhost%3A<port>`` DID document naming one service, and one XRPC
method that records what reached it. (A did:web on localhost with a port is allowed "only in testing and
development environments"; a PDS that refuses to resolve it outside of development fails here.)
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    expect,
    expect_equal,
    expect_ok,
    skip_under_launcher,
)
from atcheck.suite.oauth import OAuthClient, discover, loopback_client
from atcheck.suite.oauth_checks import expect_refused, rpc_scope

SERVICE_ID = "atcheck_upstream"
OTHER_SERVICE_ID = "atcheck_other"
"""A second service entry of the same DID document, at the same endpoint: another ``aud`` for OAuth tests."""
ECHO = "com.example.atcheck.proxied"
OTHER_METHOD = "com.example.atcheck.proxiedOther"
ACCEPT_LABELERS = "atproto-accept-labelers"
CONTENT_LABELERS = "atproto-content-labelers"
CLIENT_LABELERS = "did:plc:atcheckclientlabeler00;redact, did:web:labels.example.test"
"""What the client asks for: a labeler with the ``redact`` parameter, and a second one."""
UPSTREAM_LABELERS = "did:plc:atcheckclientlabeler00;redact"
"""What the upstream says it applied."""


@dataclass
class Upstream:
    """The service the PDS should forward to, and what reached it."""

    did: str
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def proxy_header(self) -> str:
        return f"{self.did}#{SERVICE_ID}"

    @property
    def other_service(self) -> str:
        return f"{self.did}#{OTHER_SERVICE_ID}"


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/.well-known/did.json":
                self._send(
                    200,
                    {
                        "@context": ["https://www.w3.org/ns/did/v1"],
                        "id": upstream.did,
                        "service": [
                            {
                                "id": f"#{SERVICE_ID}",
                                "type": "AtcheckUpstream",
                                "serviceEndpoint": upstream.url,
                            },
                            {
                                "id": f"#{OTHER_SERVICE_ID}",
                                "type": "AtcheckUpstream",
                                "serviceEndpoint": upstream.url,
                            },
                        ],
                    },
                )
            elif path.startswith("/xrpc/"):
                upstream.received.append(
                    {
                        "path": path,
                        "query": query,
                        "authorization": self.headers.get("Authorization"),
                        "accept_labelers": self.headers.get(ACCEPT_LABELERS),
                    }
                )
                self._send(200, {"proxied": True, "query": query}, {CONTENT_LABELERS: UPSTREAM_LABELERS})
            else:
                self._send(404, {"error": "NotFound", "message": path})

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture(scope="module")
def upstream(target: TargetUnderTest) -> Iterator[Upstream]:
    skip_under_launcher(
        target, "container", "the upstream listens on this machine's loopback, out of a container's reach"
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Upstream("", "")))
    port = server.server_address[1]
    up = Upstream(did=f"did:web:localhost%3A{port}", url=f"http://localhost:{port}")
    server.RequestHandlerClass = _handler(up)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield up
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _claims(authorization: str | None) -> dict[str, Any]:
    """The payload of the bearer JWT the upstream received."""
    if not authorization or not authorization.startswith("Bearer "):
        raise ConformanceFailure("a Bearer service JWT on the forwarded request", authorization)
    parts = authorization[len("Bearer ") :].split(".")
    if len(parts) != 3:
        raise ConformanceFailure("a compact JWT (three parts) on the forwarded request", len(parts))
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError as exc:
        raise ConformanceFailure("a base64url JSON JWT payload", str(exc)) from None
    if not isinstance(payload, dict):
        raise ConformanceFailure("a JSON object as JWT payload", payload)
    return payload


def _proxied(
    client: XrpcClient, upstream: Upstream, marker: str, headers: dict[str, str] | None = None
) -> Any:
    return client.request(
        "GET",
        f"/xrpc/{ECHO}",
        params={"marker": marker},
        headers={"atproto-proxy": upstream.proxy_header, **(headers or {})},
    )


@pytest.mark.requirement("XRPC-PROXY-01", "XRPC-PROXY-02")
@pytest.mark.needs("repo.write")
def test_a_proxied_request_reaches_the_service_with_a_service_jwt(
    module_account: Account, upstream: Upstream
) -> None:
    """The PDS forwards method, path and query to the serviceEndpoint of ``#atcheck_upstream``, with a JWT
    whose ``iss`` is the user, ``aud`` the service (``DID#id``, or the bare DID, which the spec says the
    reference PDS sent until Spring 2026) and ``lxm`` the method; the upstream's answer comes back."""
    resp = _proxied(module_account.client, upstream, "authenticated")
    got = expect_ok(resp)
    expect_equal(got.get("proxied"), True, "the upstream service's answer, passed back", resp)
    reached = [r for r in upstream.received if "marker=authenticated" in r["query"]]
    expect(bool(reached), "the request forwarded to the service endpoint (with its query)", upstream.received)
    claims = _claims(reached[-1]["authorization"])
    expect_equal(claims.get("iss"), module_account.did, "the service JWT's iss (the user)", resp)
    expect(
        claims.get("aud") in (upstream.proxy_header, upstream.did),
        f"the service JWT's aud: {upstream.proxy_header} (or the bare DID)",
        claims.get("aud"),
        resp,
    )
    expect_equal(claims.get("lxm"), ECHO, "the service JWT's lxm (the method proxied)", resp)


@pytest.mark.requirement("XRPC-PROXY-03")
@pytest.mark.needs("repo.write")
def test_an_unauthenticated_request_is_not_proxied(pds: XrpcClient, upstream: Upstream) -> None:
    """ "the request must be from an authenticated user": without a token, an error and nothing forwarded."""
    resp = _proxied(pds, upstream, "anonymous")
    expect(resp.status >= 400, "an error for an unauthenticated proxied request", resp.status, resp)
    leaked = [r for r in upstream.received if "marker=anonymous" in r["query"]]
    expect(not leaked, "nothing forwarded to the service", leaked, resp)


@pytest.mark.requirement("XRPC-PROXY-04")
@pytest.mark.needs("repo.write")
def test_labeler_headers_pass_through_the_proxy(module_account: Account, upstream: Upstream) -> None:
    """ "the PDS passes through the atproto-accept-labelers request header and the atproto-content-labelers
    response header": the labelers asked for reach the service, and the service's answer comes back."""
    resp = _proxied(module_account.client, upstream, "labelers", {ACCEPT_LABELERS: CLIENT_LABELERS})
    expect_ok(resp)
    reached = [r for r in upstream.received if "marker=labelers" in r["query"]]
    expect(bool(reached), "the request forwarded to the service endpoint", upstream.received, resp)
    expect_equal(
        reached[-1]["accept_labelers"], CLIENT_LABELERS, f"the {ACCEPT_LABELERS} header the service got", resp
    )
    expect_equal(
        resp.headers.get(CONTENT_LABELERS),
        UPSTREAM_LABELERS,
        f"the {CONTENT_LABELERS} header passed back",
        resp,
    )


@pytest.mark.requirement("XRPC-PROXY-05", "OAUTH-SCP-03")
@pytest.mark.needs("oauth", "account.create")
def test_rpc_permission_limits_proxying(pds: XrpcClient, module_account: Account, upstream: Upstream) -> None:
    """permission §rpc: "The ability to make authenticated API requests to remote services. This includes
    both requesting service auth tokens (JWTs) using the `com.atproto.server.getServiceAuth` endpoint on
    the PDS, and requests proxied via the PDS. The permission is parameterized by the remote endpoint
    (`lxm` ...) and the identity of the remote service (the audience, `aud`)."

    An OAuth token granting ``rpc:<ECHO>?aud=<did>#atcheck_upstream`` is proxied there (the control); the
    same token is refused with 403, and nothing is forwarded, for another method at that service and for
    that method at another service of the same DID document (``#atcheck_other``, same endpoint)."""
    client = OAuthClient(discover(pds), loopback_client(f"atproto {rpc_scope(ECHO, upstream.proxy_header)}"))
    tokens = client.login(module_account)

    def proxied(method: str, service: str, marker: str) -> XrpcResponse:
        return client.resource(
            "GET", method, tokens.access_token, params={"marker": marker}, headers={"atproto-proxy": service}
        )

    def reached(marker: str) -> list[dict[str, Any]]:
        return [r for r in upstream.received if f"marker={marker}" in r["query"]]

    ok = proxied(ECHO, upstream.proxy_header, "oauth-granted")
    expect_equal(expect_ok(ok).get("proxied"), True, "the upstream service's answer, passed back", ok)
    expect(bool(reached("oauth-granted")), "the granted request forwarded", upstream.received, ok)
    cases = {
        "other-lxm": (OTHER_METHOD, upstream.proxy_header, f"{OTHER_METHOD} at {upstream.proxy_header}"),
        "other-aud": (ECHO, upstream.other_service, f"{ECHO} at {upstream.other_service}"),
    }
    for marker, (method, service, what) in cases.items():
        resp = proxied(method, service, f"oauth-{marker}")
        expect_refused(resp, f"proxying {what} with a token granting only rpc:{ECHO} at {SERVICE_ID}", 403)
        leaked = reached(f"oauth-{marker}")
        expect(not leaked, f"nothing forwarded for {what}", leaked, resp)
