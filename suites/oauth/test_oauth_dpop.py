"""DPoP (RFC 9449) as the atproto profile requires it: a proof on PAR, the token endpoint and every request
to the PDS, server nonces, tokens bound to the session's key, and replayed or malformed proofs refused
(spec §DPoP, §Tokens).

A PAR without a proof is not judged: the spec tells clients to start DPoP at PAR, but RFC 9449 lets a
server bind the key at the token request, and nothing says the server must refuse such a PAR.
"""

from __future__ import annotations

import time

import pytest

from atcheck.suite import Account, ConformanceFailure, expect, expect_status
from atcheck.suite.oauth import (
    Es256Key,
    FirstNonce,
    OAuthClient,
    Pkce,
    Tokens,
    dpop_proof,
    oauth_error,
    origin_of,
)
from atcheck.suite.oauth_checks import expect_refused, token_without_dpop_is_refused

pytestmark = pytest.mark.needs("oauth", "account.create")

SESSION = "com.atproto.server.getSession"


def _session_url(client: OAuthClient) -> str:
    return f"{client.server.resource_url.rstrip('/')}/xrpc/{SESSION}"


@pytest.mark.requirement("OAUTH-DPOP-01")
def test_token_request_without_a_proof_is_refused(loopback: OAuthClient, module_account: Account) -> None:
    pending, redirect = loopback.authorize(module_account)
    fields = {
        **loopback.auth_fields(),
        "grant_type": "authorization_code",
        "code": redirect.params.get("code", ""),
        "redirect_uri": loopback.config.redirect_uri,
        "code_verifier": pending.pkce.verifier,
    }
    expect_refused(loopback.token(fields, proof=lambda nonce: None), "a token request without DPoP", 400, 401)


@pytest.mark.requirement("OAUTH-DPOP-01")
def test_resource_server_refuses_the_token_without_a_proof(loopback: OAuthClient, tokens: Tokens) -> None:
    token_without_dpop_is_refused(loopback, tokens)


def _bad_proofs() -> list[object]:
    def wrong_htu(c: OAuthClient, t: Tokens, n: str | None) -> str:
        return dpop_proof(
            c.key,
            "GET",
            _session_url(c).replace("getSession", "describeServer"),
            nonce=n,
            access_token=t.access_token,
        )

    def wrong_htm(c: OAuthClient, t: Tokens, n: str | None) -> str:
        return dpop_proof(c.key, "POST", _session_url(c), nonce=n, access_token=t.access_token)

    def no_ath(c: OAuthClient, t: Tokens, n: str | None) -> str:
        return dpop_proof(c.key, "GET", _session_url(c), nonce=n)

    def expired(c: OAuthClient, t: Tokens, n: str | None) -> str:
        return dpop_proof(
            c.key, "GET", _session_url(c), nonce=n, access_token=t.access_token, iat=int(time.time()) - 3600
        )

    def other_key(c: OAuthClient, t: Tokens, n: str | None) -> str:
        return dpop_proof(Es256Key(), "GET", _session_url(c), nonce=n, access_token=t.access_token)

    return [
        pytest.param(wrong_htu, id="wrong-htu", marks=pytest.mark.requirement("OAUTH-DPOP-01")),
        pytest.param(wrong_htm, id="wrong-htm", marks=pytest.mark.requirement("OAUTH-DPOP-01")),
        pytest.param(no_ath, id="no-ath", marks=pytest.mark.requirement("OAUTH-DPOP-01")),
        pytest.param(expired, id="iat-an-hour-ago", marks=pytest.mark.requirement("OAUTH-DPOP-01")),
        pytest.param(other_key, id="another-key", marks=pytest.mark.requirement("OAUTH-DPOP-06")),
    ]


@pytest.mark.parametrize("bad", _bad_proofs())
def test_resource_server_refuses_a_bad_proof(loopback: OAuthClient, tokens: Tokens, bad: object) -> None:
    """Each proof breaks one rule of RFC 9449 §4.3 (or the token's key binding) and is refused with 401."""
    assert callable(bad)
    resp = loopback.resource(
        "GET", SESSION, tokens.access_token, proof=lambda nonce: bad(loopback, tokens, nonce)
    )
    expect_refused(resp, "a request whose DPoP proof is invalid", 400, 401)


@pytest.mark.requirement("OAUTH-DPOP-06")
def test_refresh_with_another_key_is_refused(loopback: OAuthClient, tokens: Tokens) -> None:
    assert tokens.refresh_token is not None
    other = Es256Key()
    url = loopback.server.endpoint("token_endpoint")
    fields = {**loopback.auth_fields(), "grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    resp = loopback.token(fields, proof=lambda nonce: dpop_proof(other, "POST", url, nonce=nonce))
    expect_refused(resp, "a refresh proved with a key other than the session's", 400, 401)


@pytest.mark.requirement("OAUTH-DPOP-02")
def test_authorization_server_demands_a_nonce(loopback: OAuthClient) -> None:
    """A proof without a nonce: 400 ``use_dpop_nonce`` with a ``DPoP-Nonce`` header to retry with."""
    url = loopback.server.endpoint("pushed_authorization_request_endpoint")
    fields = loopback.par_fields(Pkce.new(), "s-" + str(time.time_ns()))
    resp = loopback.par(fields, proof=lambda nonce: dpop_proof(loopback.key, "POST", url))
    expect_status(resp, 400)
    expect(oauth_error(resp) == "use_dpop_nonce", "error use_dpop_nonce", oauth_error(resp), resp)
    expect(bool(resp.headers.get("dpop-nonce")), "a DPoP-Nonce header", dict(resp.headers), resp)


@pytest.mark.requirement("OAUTH-DPOP-02")
def test_resource_server_demands_a_nonce(loopback: OAuthClient, tokens: Tokens) -> None:
    """A proof without a nonce at the PDS: 401, ``WWW-Authenticate: DPoP error="use_dpop_nonce"``, and a
    ``DPoP-Nonce`` header."""
    url = _session_url(loopback)
    resp = loopback.resource(
        "GET",
        SESSION,
        tokens.access_token,
        retry_nonce=False,
        proof=lambda nonce: dpop_proof(loopback.key, "GET", url, access_token=tokens.access_token),
    )
    expect_status(resp, 401)
    header = resp.headers.get("www-authenticate", "")
    expect(
        header.lower().startswith("dpop") and 'error="use_dpop_nonce"' in header,
        'WWW-Authenticate: DPoP error="use_dpop_nonce"',
        header,
        resp,
    )
    expect(bool(resp.headers.get("dpop-nonce")), "a DPoP-Nonce header", dict(resp.headers), resp)


@pytest.mark.requirement("OAUTH-DPOP-02")
def test_token_responses_carry_a_nonce(tokens: Tokens) -> None:
    expect(
        bool(tokens.response.headers.get("dpop-nonce")),
        "a DPoP-Nonce header on the token response",
        dict(tokens.response.headers),
        tokens.response,
    )


@pytest.mark.requirement("OAUTH-DPOP-04")
def test_a_replayed_proof_is_refused(loopback: OAuthClient, tokens: Tokens) -> None:
    """The same proof (same ``jti``) sent twice to the PDS: the second is refused."""
    first = loopback.resource("GET", SESSION, tokens.access_token)
    expect_status(first, 200)
    proof = dpop_proof(
        loopback.key,
        "GET",
        _session_url(loopback),
        nonce=loopback.nonces.get(origin_of(loopback.server.resource_url)),
        access_token=tokens.access_token,
    )
    once = loopback.resource(
        "GET", SESSION, tokens.access_token, proof=lambda nonce: proof, retry_nonce=False
    )
    expect_status(once, 200)
    again = loopback.resource(
        "GET", SESSION, tokens.access_token, proof=lambda nonce: proof, retry_nonce=False
    )
    expect_refused(again, "a DPoP proof whose jti was already used", 400, 401)


#: The spec's bound on a nonce's lifetime, plus the polling interval's slack.
NONCE_MAX_AGE_S = 300
POLL_S = 5


@pytest.mark.late
@pytest.mark.requirement("OAUTH-DPOP-03")
def test_the_server_nonce_rotates_within_five_minutes(loopback: OAuthClient, first_nonce: FirstNonce) -> None:
    """The nonce the server hands out changes within 5 minutes (its maximum lifetime): polled every 5 s
    with nonce-less PAR proofs, which the server answers with ``use_dpop_nonce`` and its current nonce,
    counting from the first nonce the run saw from this server (``first_nonce``). The test runs last
    (``late``), so the rest of the run pays for most of the wait: a server rotating every minute (the
    reference) passes at once after a run of a few minutes, and within a minute when run alone."""
    first, started = first_nonce
    while True:
        if loopback.current_nonce() != first:
            return
        if time.monotonic() - started >= NONCE_MAX_AGE_S + POLL_S:
            break
        time.sleep(POLL_S)
    raise ConformanceFailure(f"a new DPoP nonce within {NONCE_MAX_AGE_S} s", f"{first!r} all along", None)
