"""Pushed authorization requests the server must refuse: PAR is the only way in, every field is required,
PKCE is S256 only and a challenge is not reused, redirect URIs follow the loopback and web rules, and the
``atproto`` scope is required (spec §PAR, §Request Fields, §PKCE, §Authorization Scopes).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

import pytest

from atcheck.suite import Account, ConformanceFailure, expect, expect_status
from atcheck.suite.oauth import OAuthClient, OAuthServer, Pending, Pkce, loopback_client
from atcheck.suite.oauth_checks import expect_refused, plain_pkce_is_refused
from atcheck.suite.oauth_signin import sign_in_reference

pytestmark = pytest.mark.needs("oauth")


@pytest.mark.requirement("OAUTH-PAR-01")
def test_authorization_endpoint_refuses_a_request_not_pushed(loopback: OAuthClient) -> None:
    """The full request on the authorization endpoint's query string (no ``request_uri``) must not reach a
    sign-in page: an error page (4xx) or a redirect back to the client with an ``error``."""
    pkce = Pkce.new()
    fields = loopback.par_fields(pkce, secrets.token_urlsafe(12))
    url = loopback.server.endpoint("authorization_endpoint")
    resp = loopback.server.pds.get(
        urlsplit(url).path,
        params=fields,
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
    )
    if resp.status in (302, 303):
        expect(
            "error=" in resp.headers.get("location", ""),
            "a redirect with an error",
            resp.headers.get("location"),
            resp,
        )
    else:
        expect(
            400 <= resp.status < 500,
            "an error (4xx) for an authorization request not pushed",
            resp.status,
            resp,
        )


REQUIRED = [
    "client_id",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "state",
    "redirect_uri",
    "scope",
]


@pytest.mark.requirement("OAUTH-PAR-02")
@pytest.mark.parametrize("field", REQUIRED)
def test_par_refuses_a_request_missing_a_field(loopback: OAuthClient, field: str) -> None:
    fields = loopback.par_fields(Pkce.new(), secrets.token_urlsafe(12), **{field: None})
    expect_refused(loopback.par(fields), f"a pushed authorization request without {field}", 400, 401)


@pytest.mark.requirement("OAUTH-PAR-02", "OAUTH-SCP-01")
@pytest.mark.parametrize(
    "scope",
    ["transition:generic", "atproto transition:chat.bsky transition:generic"],
    ids=["no-atproto", "beyond-client-scope"],
)
def test_par_refuses_a_scope_without_atproto_or_beyond_the_clients(loopback: OAuthClient, scope: str) -> None:
    """``scope`` must hold ``atproto`` and stay within the client's declared scope (here
    ``atproto transition:generic``)."""
    fields = loopback.par_fields(Pkce.new(), secrets.token_urlsafe(12), scope=scope)
    expect_refused(loopback.par(fields), f"a pushed authorization request with scope {scope!r}", 400)


@pytest.mark.requirement("OAUTH-PAR-02")
def test_par_answers_with_a_request_uri(loopback: OAuthClient) -> None:
    pending = loopback.push()
    expect(
        pending.request_uri.startswith("urn:ietf:params:oauth:request_uri:"),
        "a request_uri (RFC 9126 URN)",
        pending.request_uri,
        pending.response,
    )


@pytest.mark.requirement("OAUTH-PKCE-01")
def test_plain_pkce_is_refused(loopback: OAuthClient) -> None:
    plain_pkce_is_refused(loopback)


@pytest.mark.requirement("OAUTH-PKCE-01")
def test_missing_pkce_is_refused(loopback: OAuthClient) -> None:
    fields = loopback.par_fields(
        Pkce.new(), secrets.token_urlsafe(12), code_challenge=None, code_challenge_method=None
    )
    expect_refused(loopback.par(fields), "a pushed authorization request without PKCE", 400)


@pytest.mark.requirement("OAUTH-PKCE-03")
def test_a_code_challenge_is_not_accepted_twice(loopback: OAuthClient, module_account: Account) -> None:
    """Two sessions with one ``code_challenge``: the second is refused at PAR, or at the latest its code
    is not exchanged for tokens."""
    pkce = Pkce.new()
    first = loopback.par(loopback.par_fields(pkce, secrets.token_urlsafe(12)))
    expect_status(first, 200, 201)
    second = loopback.par(loopback.par_fields(pkce, secrets.token_urlsafe(12)))
    if second.status >= 400:
        return
    pending = Pending(str(second.json().get("request_uri")), pkce, "", second)
    redirect = sign_in_reference(loopback, pending.request_uri, module_account)
    if "code" not in redirect.params:
        return
    resp = loopback.exchange(pending, redirect.params["code"])
    expect_refused(resp, "the code of a second session reusing a code_challenge", 400)


@pytest.mark.requirement("OAUTH-PAR-05")
def test_a_duplicate_state_is_refused(loopback: OAuthClient) -> None:
    state = secrets.token_urlsafe(12)
    expect_status(loopback.par(loopback.par_fields(Pkce.new(), state)), 200, 201)
    expect_refused(
        loopback.par(loopback.par_fields(Pkce.new(), state)), "a second request with the same state", 400
    )


REDIRECTS = [
    pytest.param("http://127.0.0.1/other", id="unregistered-path"),
    pytest.param("https://app.atcheck.example/callback", id="unregistered-https"),
    pytest.param("http://localhost/callback", id="loopback-by-name"),
]


@pytest.mark.requirement("OAUTH-PAR-03")
@pytest.mark.parametrize("redirect_uri", REDIRECTS)
def test_par_refuses_a_redirect_uri_not_registered(oauth_server: OAuthServer, redirect_uri: str) -> None:
    """The localhost client registers ``http://127.0.0.1/callback``: another path or host is refused, and
    so is a loopback redirect naming ``localhost`` (only the IP literals are loopback redirects)."""
    client = OAuthClient(oauth_server, loopback_client())
    fields = client.par_fields(Pkce.new(), secrets.token_urlsafe(12), redirect_uri=redirect_uri)
    expect_refused(client.par(fields), f"a pushed authorization request redirecting to {redirect_uri}", 400)


@pytest.mark.requirement("OAUTH-PAR-03", "OAUTH-CM-04")
def test_localhost_client_declaring_a_localhost_redirect_is_refused(oauth_server: OAuthServer) -> None:
    """A localhost client's redirect URIs must use 127.0.0.1 or [::1]."""
    client_id = "http://localhost?" + urlencode(
        {"redirect_uri": "http://localhost/callback", "scope": "atproto"}
    )
    client = OAuthClient(oauth_server, loopback_client())
    client.config.client_id = client_id
    client.config.redirect_uri = "http://localhost/callback"
    client.config.scope = "atproto"
    fields = client.par_fields(Pkce.new(), secrets.token_urlsafe(12))
    expect_refused(client.par(fields), "a localhost client redirecting to http://localhost/", 400)


def _refused_or_not_granted(oauth_server: OAuthServer, account: Account, scope: str, bad: str) -> None:
    """A scope value the rules forbid is either refused (PAR or sign-in fails) or left out of the grant;
    it is never granted. (Servers may ignore scope values they cannot interpret, as OAuth servers do.)"""
    client = OAuthClient(oauth_server, loopback_client(scope))
    resp = client.par(client.par_fields(Pkce.new(), secrets.token_urlsafe(12)))
    if resp.status >= 400:
        return
    try:
        tokens = client.login(account)
    except ConformanceFailure:
        return  # refused later in the flow
    granted = str(tokens.body.get("scope", "")).split()
    expect(bad not in granted, f"{bad!r} refused or left out of the granted scope", granted, tokens.response)


@pytest.mark.requirement("OAUTH-SCP-04")
@pytest.mark.parametrize(
    "bad",
    [
        "repo:com.example.atcheck.a?collection=com.example.atcheck.b",
        "repo:com.example.atcheck.a?action=frob",
        "blob:image/png?accept=text/plain",
    ],
    ids=["positional-repeated-as-query", "unknown-action", "blob-positional-repeated"],
)
def test_malformed_permission_scopes_are_never_granted(
    oauth_server: OAuthServer, module_account: Account, bad: str
) -> None:
    _refused_or_not_granted(oauth_server, module_account, f"atproto {bad}", bad)


@pytest.mark.requirement("OAUTH-SCP-05")
def test_rpc_permission_with_both_wildcards_is_never_granted(
    oauth_server: OAuthServer, module_account: Account
) -> None:
    _refused_or_not_granted(oauth_server, module_account, "atproto rpc:*?aud=*", "rpc:*?aud=*")


@pytest.mark.requirement("OAUTH-SCP-07")
def test_an_unresolvable_permission_set_fails_the_request(
    oauth_server: OAuthServer, module_account: Account
) -> None:
    """``include:`` of a permission set that cannot be resolved (no Lexicon is published for it) fails the
    request, at PAR or at latest when the session would start; it is never granted silently."""
    scope = "atproto include:com.example.atcheck.unpublished.set"
    client = OAuthClient(oauth_server, loopback_client(scope))
    resp = client.par(client.par_fields(Pkce.new(), secrets.token_urlsafe(12)))
    if resp.status >= 400:
        return
    request_uri = str(resp.json().get("request_uri", ""))
    try:
        redirect = sign_in_reference(client, request_uri, module_account)
    except ConformanceFailure:
        return  # the sign-in or consent was refused
    expect(
        "code" not in redirect.params,
        "no authorization code for an unresolvable permission set",
        redirect.location,
        redirect.response,
    )
