"""Discovery: the PDS's protected-resource metadata and its authorization server's metadata (spec §Server
Metadata), and CORS on the endpoints browser clients call (spec §Authorization Servers).

Offline targets run on ``http://localhost``: the https rules accept http only on a loopback host
(:func:`atcheck.suite.oauth.is_https_or_loopback`), and ``localhost`` and ``127.0.0.1`` count as one host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from atcheck.suite import XrpcClient, expect, expect_content_type, expect_equal, expect_status
from atcheck.suite.oauth import OAuthServer, is_https_or_loopback, same_origin

pytestmark = pytest.mark.needs("oauth")


def _list(meta: dict[str, object], name: str) -> list[object]:
    """A metadata array, or [] when absent or not an array (so a wrong type fails the check, not the test)."""
    value = meta.get(name)
    return value if isinstance(value, list) else []


def _is_origin(url: str) -> bool:
    """An origin URL: scheme and host, no path (or just "/"), query, fragment, credentials or default port."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return (
        bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
        and parts.username is None
        and (parts.port is None or parts.port != default)
    )


@pytest.mark.requirement("OAUTH-MD-01")
def test_protected_resource_metadata_names_one_authorization_server(pds: XrpcClient) -> None:
    """200 (not a redirect), JSON, and ``authorization_servers`` is exactly one https origin."""
    resp = pds.get("/.well-known/oauth-protected-resource")
    expect_status(resp, 200)
    expect_content_type(resp, "application/json")
    body = resp.json()
    servers = body.get("authorization_servers") if isinstance(body, dict) else None
    expect(isinstance(servers, list) and len(servers) == 1, "exactly one authorization server", servers, resp)
    assert isinstance(servers, list)
    url = str(servers[0])
    expect(is_https_or_loopback(url) and _is_origin(url), "an https origin URL", url, resp)


@pytest.mark.requirement("OAUTH-MD-02")
def test_authorization_server_issuer_is_the_origin_it_is_served_from(oauth_server: OAuthServer) -> None:
    """``issuer`` is an https origin (no path, no default port) equal to where the document was fetched."""
    resp = oauth_server.metadata_response
    expect_content_type(resp, "application/json")
    issuer = oauth_server.issuer
    expect(is_https_or_loopback(issuer) and _is_origin(issuer), "issuer: an https origin URL", issuer, resp)
    as_url = str(oauth_server.resource["authorization_servers"][0])
    expect(
        same_origin(issuer, as_url),
        f"issuer equal to the origin the metadata came from ({as_url})",
        issuer,
        resp,
    )


@pytest.mark.requirement("OAUTH-MD-03")
def test_authorization_server_metadata_supports_the_code_flow(oauth_server: OAuthServer) -> None:
    meta, resp = oauth_server.metadata, oauth_server.metadata_response
    expect(
        "code" in _list(meta, "response_types_supported"),
        "response_types_supported ∋ code",
        meta.get("response_types_supported"),
        resp,
    )
    grants = set(_list(meta, "grant_types_supported"))
    expect(
        {"authorization_code", "refresh_token"} <= grants,
        "grant_types_supported ⊇ {authorization_code, refresh_token}",
        sorted(grants),
        resp,
    )
    methods = _list(meta, "code_challenge_methods_supported")
    expect("S256" in methods, "code_challenge_methods_supported ∋ S256", methods, resp)
    for name in ("authorization_endpoint", "token_endpoint"):
        expect(isinstance(meta.get(name), str), f"{name} present", meta.get(name), resp)


@pytest.mark.requirement("OAUTH-MD-04")
def test_authorization_server_metadata_client_authentication(oauth_server: OAuthServer) -> None:
    meta, resp = oauth_server.metadata, oauth_server.metadata_response
    methods = set(_list(meta, "token_endpoint_auth_methods_supported"))
    expect(
        {"none", "private_key_jwt"} <= methods,
        "token_endpoint_auth_methods_supported ⊇ {none, private_key_jwt}",
        sorted(methods),
        resp,
    )
    algs = _list(meta, "token_endpoint_auth_signing_alg_values_supported")
    expect(
        "ES256" in algs and "none" not in algs,
        "token_endpoint_auth_signing_alg_values_supported ∋ ES256, ∌ none",
        algs,
        resp,
    )


@pytest.mark.requirement("OAUTH-MD-05")
def test_authorization_server_metadata_atproto_profile(oauth_server: OAuthServer) -> None:
    meta, resp = oauth_server.metadata, oauth_server.metadata_response
    expect(
        "atproto" in _list(meta, "scopes_supported"),
        "scopes_supported ∋ atproto",
        meta.get("scopes_supported"),
        resp,
    )
    expect_equal(
        meta.get("authorization_response_iss_parameter_supported"),
        True,
        "authorization_response_iss_parameter_supported",
        resp,
    )
    expect_equal(
        meta.get("require_pushed_authorization_requests"), True, "require_pushed_authorization_requests", resp
    )
    expect(
        isinstance(meta.get("pushed_authorization_request_endpoint"), str),
        "pushed_authorization_request_endpoint present",
        meta.get("pushed_authorization_request_endpoint"),
        resp,
    )
    expect(
        "ES256" in _list(meta, "dpop_signing_alg_values_supported"),
        "dpop_signing_alg_values_supported ∋ ES256",
        meta.get("dpop_signing_alg_values_supported"),
        resp,
    )
    expect(
        meta.get("require_request_uri_registration") is not False,
        "require_request_uri_registration not false",
        meta.get("require_request_uri_registration"),
        resp,
    )
    expect_equal(
        meta.get("client_id_metadata_document_supported"), True, "client_id_metadata_document_supported", resp
    )


@pytest.mark.requirement("OAUTH-MD-06")
@pytest.mark.parametrize("endpoint", ["metadata", "pushed_authorization_request_endpoint", "token_endpoint"])
def test_cors_on_metadata_par_and_token_endpoints(oauth_server: OAuthServer, endpoint: str) -> None:
    """A preflight from a browser client on another origin is allowed (``Access-Control-Allow-Origin`` is
    ``*`` or that origin), and so is the request itself."""
    origin = "https://app.atcheck.example"
    pds = oauth_server.pds
    url = (
        "/.well-known/oauth-authorization-server"
        if endpoint == "metadata"
        else urlsplit(oauth_server.endpoint(endpoint)).path
    )
    method = "GET" if endpoint == "metadata" else "POST"
    preflight = pds.request(
        "OPTIONS",
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,dpop",
        },
    )
    expect(200 <= preflight.status < 300, "a successful CORS preflight (2xx)", preflight.status, preflight)
    allowed = preflight.headers.get("access-control-allow-origin")
    expect(allowed in ("*", origin), f"Access-Control-Allow-Origin: * or {origin}", allowed, preflight)
    actual = pds.request(method, url, headers={"Origin": origin})
    allowed = actual.headers.get("access-control-allow-origin")
    expect(allowed in ("*", origin), f"Access-Control-Allow-Origin on the {method} itself", allowed, actual)
