"""atcheck as an atproto OAuth client: discovery, PAR, PKCE, DPoP with server nonces, a headless sign-in,
token exchange, refresh, revocation, and requests to the PDS as resource server.

The OAuth suite (``suites/oauth``) judges a PDS's authorization server by playing a real client against it,
so every step here is explicit and every request goes through an :class:`~atcheck.xrpc.client.XrpcClient`
sharing the PDS fixture's evidence recorder: a failure shows the exchange that produced it. Each step
returns the raw response; the happy path (:meth:`OAuthClient.login`) checks only what it needs to go on,
and tests judge the rest.

Clients:

- :func:`loopback_client`: the spec's localhost development client (``client_id`` ``http://localhost?...``),
  a public client whose metadata the server derives from the ``client_id`` itself.
- :func:`discoverable_client`: a client metadata document served by atcheck at
  ``https://client.oauth.atcheck:<port>``
  (:mod:`atcheck.suite.oauth_host`), public or confidential (``private_key_jwt`` with a key in ``jwks``).

The sign-in step drives the authorization server's own user-facing API headlessly. Its shape is not part of
the spec (the spec leaves the authorization interface to the server), so it is the one target-specific piece,
in :mod:`atcheck.suite.oauth_signin`; :meth:`OAuthClient.authorize` takes any function of that signature.
URL and origin rules (and the http-on-loopback allowance) are in :mod:`atcheck.suite.oauth_web`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

from atcheck.checks import ConformanceFailure, expect, expect_status
from atcheck.suite.oauth_host import CLIENT_HOST, CLIENT_ZONE, ClientHost, Document, client_host
from atcheck.suite.oauth_jose import Es256Key, Pkce, client_assertion, dpop_proof
from atcheck.suite.oauth_signin import sign_in_reference
from atcheck.suite.oauth_web import Redirect, is_https_or_loopback, origin_of, redirect_of, same_origin
from atcheck.xrpc.client import ParamValue, XrpcClient, XrpcResponse

__all__ = [
    "CLIENT_HOST",
    "CLIENT_ZONE",
    "ClientHost",
    "Document",
    "Es256Key",
    "FirstNonce",
    "OAuthClient",
    "OAuthServer",
    "Pending",
    "Pkce",
    "Redirect",
    "Tokens",
    "asks_for_nonce",
    "client_host",
    "discover",
    "discoverable_client",
    "dpop_proof",
    "is_https_or_loopback",
    "loopback_client",
    "oauth_error",
    "origin_of",
    "redirect_of",
    "same_origin",
]

DEFAULT_SCOPE = "atproto transition:generic"
FORM = "application/x-www-form-urlencoded"
#: A proof factory: given the server's current nonce (None before the first one), the DPoP header to send,
#: or None to send none.
ProofFactory = Callable[[str | None], str | None]


# -- discovery -----------------------------------------------------------------------------------------------


@dataclass
class OAuthServer:
    """A PDS's resource metadata and its authorization server's metadata, as discovered."""

    resource: dict[str, Any]
    resource_response: XrpcResponse
    metadata: dict[str, Any]
    metadata_response: XrpcResponse
    pds: XrpcClient

    @property
    def issuer(self) -> str:
        return str(self.metadata.get("issuer", ""))

    @property
    def resource_url(self) -> str:
        """The PDS's own public origin (the protected resource metadata's ``resource``)."""
        return str(self.resource.get("resource") or self.pds.base_url)

    def endpoint(self, name: str) -> str:
        value = self.metadata.get(name)
        if not isinstance(value, str):
            raise ConformanceFailure(
                f"the authorization server metadata to give {name}", value, self.metadata_response
            )
        return value


def discover(pds: XrpcClient) -> OAuthServer:
    """``/.well-known/oauth-protected-resource`` at the PDS, then its authorization server's metadata.

    Only what later steps need is checked here (200, JSON, one authorization server); the suite's metadata
    tests judge the rest.
    """
    resp = pds.get("/.well-known/oauth-protected-resource")
    expect_status(resp, 200)
    resource = resp.json()
    servers = resource.get("authorization_servers") if isinstance(resource, dict) else None
    expect(
        isinstance(servers, list) and len(servers) >= 1 and isinstance(servers[0], str),
        "authorization_servers: a list holding the authorization server's URL",
        servers,
        resp,
    )
    assert isinstance(servers, list)
    as_url = str(servers[0])
    # An issuer on this PDS's own origin is fetched over the fixture's connection (127.0.0.1).
    as_client = pds if same_origin(as_url, pds.base_url) else _client(pds, as_url)
    meta_resp = as_client.get("/.well-known/oauth-authorization-server")
    expect_status(meta_resp, 200)
    metadata = meta_resp.json()
    expect(
        isinstance(metadata, dict), "the authorization server metadata: a JSON object", metadata, meta_resp
    )
    return OAuthServer(resource, resp, metadata, meta_resp, pds)


def _client(pds: XrpcClient, url: str) -> XrpcClient:
    """An XrpcClient for ``url``'s origin that records evidence with the PDS fixture's."""
    return XrpcClient(origin_of(url), recorder=pds.recorder, timeout_s=pds.timeout_s)


# -- clients -------------------------------------------------------------------------------------------------


@dataclass
class ClientConfig:
    """Who atcheck is to the authorization server: its ``client_id``, a redirect URI, the scope it asks for,
    and (confidential clients) the key it signs client assertions with."""

    client_id: str
    redirect_uri: str
    scope: str = DEFAULT_SCOPE
    key: Es256Key | None = None
    metadata: dict[str, Any] | None = None


def loopback_client(
    scope: str = DEFAULT_SCOPE, redirect_uri: str = "http://127.0.0.1/callback", *, declare: bool = True
) -> ClientConfig:
    """The localhost development client: ``http://localhost`` with ``redirect_uri`` and ``scope`` as query
    parameters (spec §Localhost Client Development). ``declare=False`` leaves them out (then the defaults
    apply: redirects to ``http://127.0.0.1/`` or ``http://[::1]/``, scope ``atproto``)."""
    if not declare:
        return ClientConfig("http://localhost", redirect_uri, scope)
    client_id = "http://localhost?" + urlencode({"redirect_uri": redirect_uri, "scope": scope})
    return ClientConfig(client_id, redirect_uri, scope)


def client_metadata(client_id: str, redirect_uri: str, scope: str, key: Es256Key | None) -> dict[str, Any]:
    """A valid client metadata document (spec §Client ID Metadata Document), confidential when ``key``."""
    metadata: dict[str, Any] = {
        "client_id": client_id,
        "client_name": "atcheck conformance client",
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": scope,
        "redirect_uris": [redirect_uri],
        "dpop_bound_access_tokens": True,
        "token_endpoint_auth_method": "none",
    }
    if key is not None:
        metadata["token_endpoint_auth_method"] = "private_key_jwt"
        metadata["token_endpoint_auth_signing_alg"] = "ES256"
        metadata["jwks"] = {"keys": [key.public_jwk(with_kid=True)]}
    return metadata


def discoverable_client(
    host: ClientHost,
    *,
    confidential: bool = False,
    scope: str = DEFAULT_SCOPE,
    edit: Callable[[dict[str, Any]], None] | None = None,
    document: Callable[[dict[str, Any]], Document] | None = None,
) -> ClientConfig:
    """A client whose metadata atcheck serves at a fresh ``https://<CLIENT_HOST>:<port>/clients/<id>.json``.

    ``edit`` changes the metadata before it is served (to break one rule); ``document`` wraps it into what
    the host answers (a redirect, another status). The client is a ``web`` client redirecting to
    ``/callback`` on its own https origin.
    """
    path = f"/clients/{secrets.token_hex(6)}.json"
    client_id = host.url(path)
    redirect_uri = host.url("/callback")
    key = Es256Key() if confidential else None
    metadata = client_metadata(client_id, redirect_uri, scope, key)
    if edit is not None:
        edit(metadata)
    host.put(path, document(metadata) if document else Document(metadata))
    return ClientConfig(client_id, redirect_uri, scope, key, metadata)


# -- the flow ------------------------------------------------------------------------------------------------


@dataclass
class Tokens:
    """A token response and the DPoP key the tokens are bound to."""

    body: dict[str, Any]
    response: XrpcResponse
    key: Es256Key

    @property
    def access_token(self) -> str:
        return str(self.body.get("access_token", ""))

    @property
    def refresh_token(self) -> str | None:
        value = self.body.get("refresh_token")
        return value if isinstance(value, str) else None


@dataclass
class Pending:
    """A pushed authorization request not yet signed in: what the token request will need."""

    request_uri: str
    pkce: Pkce
    state: str
    response: XrpcResponse


SignIn = Callable[["OAuthClient", str, Any], Redirect]


class FirstNonce(NamedTuple):
    """The first DPoP nonce a run saw from an authorization server, and when (``time.monotonic()``)."""

    nonce: str
    seen_at: float


@dataclass
class OAuthClient:
    """atcheck as one OAuth client of one authorization server, with one DPoP key (``key``).

    Every request to the server carries a DPoP proof made with the latest nonce the server sent; a request
    answered with ``use_dpop_nonce`` is sent once more with the new nonce, as a client must.
    """

    server: OAuthServer
    config: ClientConfig
    key: Es256Key = field(default_factory=Es256Key)
    nonces: dict[str, str] = field(default_factory=dict)

    def connection_for(self, url: str) -> tuple[XrpcClient, str, dict[str, ParamValue]]:
        """The client, path and query parameters to send a request for ``url`` with."""
        pds = self.server.pds
        parts = urlsplit(url)
        params: dict[str, ParamValue] = {
            k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()
        }
        if same_origin(url, pds.base_url):
            # htu names the server's own URL; the connection goes where the fixture reaches it.
            return pds.with_token(None), parts.path, params
        return _client(pds, url).with_token(None), parts.path, params

    def send(
        self,
        method: str,
        url: str,
        *,
        form: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        proof: ProofFactory | None = None,
        authorization: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_nonce: bool = True,
    ) -> XrpcResponse:
        """One request with a DPoP proof from ``proof`` (default: a fresh, correct one with this client's
        key), retried once with the new nonce when the server asks for one."""
        make = proof or (lambda nonce: dpop_proof(self.key, method, url.split("?")[0], nonce=nonce))
        http, path, params = self.connection_for(url)
        origin = origin_of(url)
        resp: XrpcResponse | None = None
        for _attempt in range(2 if retry_nonce else 1):
            sent = dict(headers or {})
            header = make(self.nonces.get(origin))
            if header is not None:
                sent["DPoP"] = header
            if authorization is not None:
                sent["Authorization"] = authorization
            if form is not None:
                body = urlencode(form).encode()
                resp = http.request(method, path, params=params, data=body, content_type=FORM, headers=sent)
            elif json_body is not None:
                resp = http.request(method, path, params=params, json=json_body, headers=sent)
            elif data is not None:
                resp = http.request(
                    method, path, params=params, data=data, content_type=content_type, headers=sent
                )
            else:
                resp = http.request(method, path, params=params, headers=sent)
            nonce = resp.headers.get("dpop-nonce")
            if nonce:
                self.nonces[origin] = nonce
            if not (nonce and asks_for_nonce(resp)):
                break
        assert resp is not None
        return resp

    # -- authorization server ------------------------------------------------------------------------------

    def auth_fields(self) -> dict[str, str]:
        """``client_id``, plus a fresh client assertion for a confidential client."""
        fields = {"client_id": self.config.client_id}
        if self.config.key is not None:
            fields["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            fields["client_assertion"] = client_assertion(
                self.config.key, self.config.client_id, self.server.issuer
            )
        return fields

    def par_fields(self, pkce: Pkce, state: str, /, **overrides: str | None) -> dict[str, str]:
        """A complete PAR body (spec §Request Fields); an override of None drops that field."""
        fields: dict[str, str | None] = {
            **self.auth_fields(),
            "response_type": "code",
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            "state": state,
            "redirect_uri": self.config.redirect_uri,
            "scope": self.config.scope,
        }
        fields.update(overrides)
        return {k: v for k, v in fields.items() if v is not None}

    def par(
        self, fields: Mapping[str, str], *, proof: ProofFactory | None = None, retry_nonce: bool = True
    ) -> XrpcResponse:
        url = self.server.endpoint("pushed_authorization_request_endpoint")
        return self.send("POST", url, form=fields, proof=proof, retry_nonce=retry_nonce)

    def current_nonce(self) -> str:
        """The authorization server's current DPoP nonce: what it answers a nonce-less PAR proof with
        (``use_dpop_nonce`` and a ``DPoP-Nonce`` header)."""
        url = self.server.endpoint("pushed_authorization_request_endpoint")
        fields = self.par_fields(Pkce.new(), f"s-{time.time_ns()}")
        resp = self.par(fields, proof=lambda nonce: dpop_proof(self.key, "POST", url), retry_nonce=False)
        nonce = resp.headers.get("dpop-nonce")
        expect(bool(nonce), "a DPoP-Nonce header", dict(resp.headers), resp)
        return str(nonce)

    def push(self, **overrides: str | None) -> Pending:
        """PAR with a fresh PKCE pair and state; fails unless the server answers with a request_uri."""
        pkce, state = Pkce.new(), secrets.token_urlsafe(12)
        resp = self.par(self.par_fields(pkce, state, **overrides))
        expect_status(resp, 200, 201)
        body = resp.json()
        request_uri = body.get("request_uri") if isinstance(body, dict) else None
        expect(isinstance(request_uri, str), "a PAR answer holding request_uri", body, resp)
        return Pending(str(request_uri), pkce, state, resp)

    def token(self, fields: Mapping[str, str], *, proof: ProofFactory | None = None) -> XrpcResponse:
        return self.send("POST", self.server.endpoint("token_endpoint"), form=fields, proof=proof)

    def exchange(self, pending: Pending, code: str, **overrides: str | None) -> XrpcResponse:
        """The authorization-code grant for ``pending`` (raw answer); an override of None drops a field."""
        fields: dict[str, str | None] = {
            **self.auth_fields(),
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": pending.pkce.verifier,
        }
        fields.update(overrides)
        return self.token({k: v for k, v in fields.items() if v is not None})

    def refresh(self, refresh_token: str) -> XrpcResponse:
        fields = {**self.auth_fields(), "grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.token(fields)

    def revoke(self, token: str) -> XrpcResponse:
        fields = {**self.auth_fields(), "token": token}
        return self.send("POST", self.server.endpoint("revocation_endpoint"), form=fields)

    def authorize(
        self, account: Any, sign_in: SignIn | None = None, **overrides: str | None
    ) -> tuple[Pending, Redirect]:
        """PAR, then the sign-in and consent of ``account``: the pending request and the redirect back."""
        pending = self.push(**overrides)
        redirect = (sign_in or sign_in_reference)(self, pending.request_uri, account)
        return pending, redirect

    def login(self, account: Any, sign_in: SignIn | None = None) -> Tokens:
        """The whole flow for ``account``; fails at the first step that does not give the next its input."""
        pending, redirect = self.authorize(account, sign_in)
        code = redirect.params.get("code")
        expect(
            code is not None,
            "the redirect back to the client to carry a code",
            redirect.location,
            redirect.response,
        )
        resp = self.exchange(pending, str(code))
        expect_status(resp, 200)
        body = resp.json()
        expect(
            isinstance(body, dict) and isinstance(body.get("access_token"), str),
            "a token response with access_token",
            body,
            resp,
        )
        return Tokens(body, resp, self.key)

    # -- resource server -------------------------------------------------------------------------------------

    def resource(
        self,
        method: str,
        nsid: str,
        access_token: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        proof: ProofFactory | None = None,
        scheme: str = "DPoP",
        retry_nonce: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> XrpcResponse:
        """An XRPC call at the PDS with ``Authorization: <scheme> <token>`` and a DPoP proof with ``ath``
        (and ``headers``, e.g. ``atproto-proxy``)."""
        url = f"{self.server.resource_url.rstrip('/')}/xrpc/{nsid}"
        htu = url
        if params:
            url += "?" + urlencode(params)
        make = proof or (
            lambda nonce: dpop_proof(self.key, method, htu, nonce=nonce, access_token=access_token)
        )
        return self.send(
            method,
            url,
            json_body=json_body,
            data=data,
            content_type=content_type,
            proof=make,
            authorization=f"{scheme} {access_token}",
            headers=headers,
            retry_nonce=retry_nonce,
        )


def asks_for_nonce(resp: XrpcResponse) -> bool:
    """The answer is the server asking for a DPoP nonce: 400 ``use_dpop_nonce`` (authorization server) or
    401 with ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` (resource server), RFC 9449 §8-9."""
    if resp.status == 401 and "use_dpop_nonce" in resp.headers.get("www-authenticate", ""):
        return True
    if resp.status in (400, 401):
        try:
            body = json.loads(resp.content)
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"
    return False


def oauth_error(resp: XrpcResponse) -> str | None:
    """The OAuth ``error`` code of an answer (JSON body, else ``WWW-Authenticate``), or None."""
    try:
        body = json.loads(resp.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    header = str(resp.headers.get("www-authenticate", ""))
    if 'error="' in header:
        return header.split('error="', 1)[1].split('"', 1)[0]
    return None
