"""The authorization-code flow as a client runs it: PAR, sign-in, the redirect back (``code``, ``state``,
``iss``), the code exchange, refresh-token rotation and revocation (spec §Summary of Flow, §Tokens).

The sign-in is driven headlessly through the server's own interface (:mod:`atcheck.suite.oauth`).
"""

from __future__ import annotations

import pytest

from atcheck.suite import Account, ConformanceFailure, expect, expect_equal, expect_status
from atcheck.suite.oauth import OAuthClient, OAuthServer, Tokens, loopback_client
from atcheck.suite.oauth_checks import expect_refused, reused_code_is_refused
from atcheck.suite.oauth_signin import sign_in_reference

pytestmark = pytest.mark.needs("oauth", "account.create")


@pytest.mark.requirement("OAUTH-PAR-07")
def test_redirect_carries_code_state_and_issuer(loopback: OAuthClient, module_account: Account) -> None:
    pending, redirect = loopback.authorize(module_account)
    expect(
        redirect.location.startswith(loopback.config.redirect_uri),
        f"a redirect to {loopback.config.redirect_uri}",
        redirect.location,
        redirect.response,
    )
    expect("code" in redirect.params, "a code in the redirect", redirect.params, redirect.response)
    expect_equal(redirect.params.get("state"), pending.state, "the redirect's state", redirect.response)
    expect_equal(
        redirect.params.get("iss"),
        loopback.server.issuer,
        "the redirect's iss (the issuer)",
        redirect.response,
    )


@pytest.mark.requirement("OAUTH-TOK-01", "OAUTH-DPOP-05")
def test_token_response_fields(tokens: Tokens, module_account: Account) -> None:
    """``access_token``, ``token_type`` DPoP, a ``refresh_token`` (granted: the client asked for it),
    ``sub`` the account's DID and ``scope`` holding ``atproto``; every proof atcheck sends is ES256."""
    body, resp = tokens.body, tokens.response
    expect(isinstance(body.get("access_token"), str), "access_token", body.get("access_token"), resp)
    expect_equal(str(body.get("token_type", "")).lower(), "dpop", "token_type (case-insensitive)", resp)
    expect(isinstance(body.get("refresh_token"), str), "refresh_token", body.get("refresh_token"), resp)
    expect_equal(body.get("sub"), module_account.did, "sub (the account DID)", resp)
    scope = body.get("scope")
    expect(isinstance(scope, str) and "atproto" in scope.split(), "scope holding atproto", scope, resp)


@pytest.mark.requirement("OAUTH-DPOP-01", "OAUTH-DPOP-05")
def test_access_token_works_at_the_resource_server(
    loopback: OAuthClient, tokens: Tokens, module_account: Account
) -> None:
    resp = loopback.resource("GET", "com.atproto.server.getSession", tokens.access_token)
    expect_status(resp, 200)
    expect_equal(resp.json().get("did"), module_account.did, "getSession's did", resp)


@pytest.mark.requirement("OAUTH-TOK-02")
def test_access_token_lifetime_is_short(tokens: Tokens) -> None:
    """``expires_in`` under 30 minutes (SHOULD; these tokens can be revoked)."""
    expires = tokens.body.get("expires_in")
    expect(
        isinstance(expires, int) and 0 < expires < 1800,
        "expires_in under 1800 s (30 minutes)",
        expires,
        tokens.response,
    )


@pytest.mark.requirement("OAUTH-TOK-03")
def test_refresh_rotates_and_a_used_refresh_token_is_refused(loopback: OAuthClient, tokens: Tokens) -> None:
    assert tokens.refresh_token is not None
    first = loopback.refresh(tokens.refresh_token)
    expect_status(first, 200)
    new_refresh = first.json().get("refresh_token")
    expect(
        isinstance(new_refresh, str) and new_refresh != tokens.refresh_token,
        "a new refresh token",
        new_refresh,
        first,
    )
    again = loopback.refresh(tokens.refresh_token)
    expect_refused(again, "a refresh token used a second time", 400)


@pytest.mark.requirement("OAUTH-TOK-02")
def test_revoked_tokens_stop_working(loopback: OAuthClient, tokens: Tokens) -> None:
    """Revoking the refresh token ends the session: no refresh, and the access token is refused."""
    assert tokens.refresh_token is not None
    revoked = loopback.revoke(tokens.refresh_token)
    expect_status(revoked, 200)
    expect_refused(loopback.refresh(tokens.refresh_token), "a refresh with a revoked refresh token", 400)
    after = loopback.resource("GET", "com.atproto.server.getSession", tokens.access_token)
    expect_refused(after, "the access token of a revoked session", 400, 401)


@pytest.mark.requirement("OAUTH-PKCE-04")
def test_a_code_is_single_use_and_reuse_revokes_its_tokens(
    loopback: OAuthClient, module_account: Account
) -> None:
    first = reused_code_is_refused(loopback, module_account)
    after = loopback.resource("GET", "com.atproto.server.getSession", first.access_token)
    expect_refused(after, "the tokens of a code that was used twice", 400, 401)


@pytest.mark.requirement("OAUTH-PKCE-02")
def test_a_wrong_code_verifier_is_refused(loopback: OAuthClient, module_account: Account) -> None:
    pending, redirect = loopback.authorize(module_account)
    resp = loopback.exchange(pending, redirect.params.get("code", ""), code_verifier="x" * 64)
    expect_refused(resp, "a token request whose code_verifier does not match the challenge", 400)


@pytest.mark.requirement("OAUTH-CM-04")
def test_loopback_client_port_is_ignored_when_matching(
    oauth_server: OAuthServer, module_account: Account
) -> None:
    """A localhost client registering ``http://127.0.0.1/callback`` may redirect to any port of it."""
    config = loopback_client(redirect_uri="http://127.0.0.1/callback")
    client = OAuthClient(oauth_server, config)
    pending = client.push(redirect_uri="http://127.0.0.1:49152/callback")
    expect(pending.request_uri.startswith("urn:"), "a request_uri", pending.request_uri, pending.response)


@pytest.mark.requirement("OAUTH-CM-04")
def test_loopback_client_without_parameters_gets_the_defaults(
    oauth_server: OAuthServer, module_account: Account
) -> None:
    """``client_id`` ``http://localhost`` alone: scope ``atproto`` and a redirect to ``http://127.0.0.1/``."""
    client = OAuthClient(oauth_server, loopback_client("atproto", "http://127.0.0.1/", declare=False))
    tokens = client.login(module_account)
    expect_equal(tokens.body.get("scope"), "atproto", "the granted scope", tokens.response)


@pytest.mark.requirement("OAUTH-PAR-06")
def test_login_hint_restricts_the_sign_in_to_that_account(
    loopback: OAuthClient, module_account: Account, account: Account
) -> None:
    """A request hinting one account (``login_hint``) cannot be completed by signing in as another: the
    sign-in or consent is refused, or the redirect carries an error instead of a code."""
    pending = loopback.push(login_hint=account.handle)
    try:
        redirect = sign_in_reference(loopback, pending.request_uri, module_account)
    except ConformanceFailure:
        return  # the sign-in or consent was refused
    expect(
        "code" not in redirect.params,
        "no code for an account other than the hinted one",
        redirect.location,
        redirect.response,
    )
