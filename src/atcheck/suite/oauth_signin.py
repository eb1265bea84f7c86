"""How atcheck signs an account in and consents, headlessly, at an authorization server.

The authorization interface is the server's own (the spec leaves it to the implementation), so this is the
one target-specific step of the OAuth flow: :func:`sign_in_reference` speaks ``@atproto/oauth-provider``'s
JSON API, the one the reference PDS serves; :func:`sign_in_by_redirect` is for servers that approve at once
(atcheck's fakes). Both take the client, the PAR ``request_uri`` and the account, and return the redirect back
to the client (:class:`atcheck.suite.oauth.Redirect`), like any function passed to
:meth:`atcheck.suite.oauth.OAuthClient.authorize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any, Protocol
from urllib.parse import urlencode

from atcheck.checks import expect, expect_status
from atcheck.suite.oauth_web import Redirect, origin_of, redirect_of, same_origin
from atcheck.xrpc.client import ParamValue, XrpcClient, XrpcResponse


class Client(Protocol):
    """What a sign-in needs of :class:`atcheck.suite.oauth.OAuthClient` (declared here, so that module can
    default to :func:`sign_in_reference` without an import cycle)."""

    @property
    def server(self) -> Any: ...  # an OAuthServer: .issuer, .pds, .endpoint(name)

    @property
    def config(self) -> Any: ...  # a ClientConfig: .client_id

    def connection_for(self, url: str) -> tuple[XrpcClient, str, dict[str, ParamValue]]: ...


__all__ = ["sign_in_by_redirect", "sign_in_reference"]


API_PREFIX = "/@atproto/oauth-provider/~api"


def _merge_cookies(jar: dict[str, str], resp: XrpcResponse) -> None:
    for header in resp.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            jar[name] = morsel.value


def _cookie_header(jar: Mapping[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items() if v)


def sign_in_reference(client: Client, request_uri: str, account: Any) -> Redirect:
    """Sign ``account`` in and consent, headlessly, through ``@atproto/oauth-provider``'s own JSON API.

    What a browser would do on the authorization page: load it (device and CSRF cookies), POST ``sign-in``
    and ``consent`` with the same-origin headers, Origin, Referer and CSRF token the API demands, then follow
    the URL ``consent`` returns, which answers with the 303 redirect to the client. The Location header of
    that redirect is returned; nothing listens at the redirect URI.
    """
    server = client.server
    authorize_url = (
        server.endpoint("authorization_endpoint")
        + "?"
        + urlencode({"client_id": client.config.client_id, "request_uri": request_uri})
    )
    # A browser of its own: cookies are carried by hand (the CSRF cookie is Secure, on an http issuer), and
    # the shared client's cookie jar must not make two sign-ins look like one device.
    _, path, params = client.connection_for(authorize_url)
    base = (
        client.server.pds.base_url
        if same_origin(authorize_url, client.server.pds.base_url)
        else origin_of(authorize_url)
    )
    http = XrpcClient(base, recorder=client.server.pds.recorder, timeout_s=client.server.pds.timeout_s)
    try:
        return _sign_in(client, http, authorize_url, path, params, account)
    finally:
        http.close()


def _sign_in(
    client: Client,
    http: XrpcClient,
    authorize_url: str,
    path: str,
    params: dict[str, ParamValue],
    account: Any,
) -> Redirect:
    issuer = client.server.issuer.rstrip("/")
    jar: dict[str, str] = {}
    page = http.request(
        "GET",
        path,
        params=params,
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
    )
    _merge_cookies(jar, page)
    if page.status in (302, 303):
        return redirect_of(page)
    expect_status(page, 200)
    api_headers = {
        "Origin": origin_of(issuer),
        "Referer": authorize_url,
        "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Mode": "same-origin",
        "Sec-Fetch-Dest": "empty",
    }

    def api(endpoint: str, body: dict[str, Any], bearer: str | None = None) -> XrpcResponse:
        headers = {**api_headers, "x-csrf-token": jar.get("csrf-token", ""), "Cookie": _cookie_header(jar)}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        resp = http.request("POST", f"{API_PREFIX}/{endpoint}", json=body, headers=headers)
        _merge_cookies(jar, resp)
        return resp

    signed = api(
        "sign-in",
        {"locale": "en", "username": account.handle, "password": account.password, "remember": False},
    )
    expect_status(signed, 200)
    signed_body = signed.json()
    did = signed_body.get("account", {}).get("sub") or account.did
    consent = api("consent", {"did": did}, bearer=signed_body.get("ephemeralToken"))
    expect_status(consent, 200)
    url = consent.json().get("url")
    expect(isinstance(url, str), "consent to answer with the URL of the redirect", consent.json(), consent)
    _, redirect_path, redirect_params = client.connection_for(str(url))
    back = http.request(
        "GET",
        redirect_path,
        params=redirect_params,
        headers={
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
            "Referer": authorize_url,
            "Cookie": _cookie_header(jar),
        },
    )
    return redirect_of(back)


def sign_in_by_redirect(client: Client, request_uri: str, account: Any) -> Redirect:
    """The sign-in of an authorization server that approves at once: the authorization endpoint itself
    answers with the redirect back to the client (fakes in atcheck's self-tests; servers with silent
    sign-in)."""
    url = (
        client.server.endpoint("authorization_endpoint")
        + "?"
        + urlencode({"client_id": client.config.client_id, "request_uri": request_uri})
    )
    http, path, params = client.connection_for(url)
    return redirect_of(http.request("GET", path, params=params))
