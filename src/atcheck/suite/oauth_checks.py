"""Verdicts of the OAuth suite that a self-test also runs against a faulty authorization server.

Each function plays one refusal case through an :class:`~atcheck.suite.oauth.OAuthClient` and raises
:class:`~atcheck.checks.ConformanceFailure` when the server accepts what the spec says it must refuse. The
suite's tests call them against real targets; ``tests/suite/test_oauth_faults.py`` calls them against a fake
authorization server that accepts plain PKCE, a reused code, or a token without DPoP, and expects failures.
"""

from __future__ import annotations

import secrets
from typing import Any

from atcheck.checks import ConformanceFailure, expect, expect_status
from atcheck.suite.oauth import OAuthClient, Pkce, SignIn, Tokens, oauth_error
from atcheck.xrpc.client import XrpcResponse

__all__ = [
    "expect_refused",
    "plain_pkce_is_refused",
    "reused_code_is_refused",
    "token_without_dpop_is_refused",
]


def expect_refused(resp: XrpcResponse, what: str, *statuses: int) -> None:
    """``resp`` refuses the request: one of ``statuses`` (default 400 or 401), never a 2xx."""
    allowed = statuses or (400, 401)
    if resp.status not in allowed:
        wanted = " or ".join(str(s) for s in allowed)
        raise ConformanceFailure(
            f"{what} to be refused (HTTP {wanted})", f"HTTP {resp.status} {resp.text[:300]!r}", resp
        )


def plain_pkce_is_refused(client: OAuthClient) -> None:
    """PAR with ``code_challenge_method=plain`` (the challenge being the verifier itself) is refused."""
    pkce = Pkce.new()
    fields = client.par_fields(
        pkce, secrets.token_urlsafe(12), code_challenge=pkce.verifier, code_challenge_method="plain"
    )
    expect_refused(client.par(fields), "a pushed authorization request with code_challenge_method=plain", 400)


def reused_code_is_refused(client: OAuthClient, account: Any, sign_in: SignIn | None = None) -> Tokens:
    """An authorization code exchanged once cannot be exchanged again; returns the first exchange's tokens."""
    pending, redirect = client.authorize(account, sign_in)
    code = redirect.params.get("code")
    expect(
        code is not None,
        "the redirect back to the client to carry a code",
        redirect.location,
        redirect.response,
    )
    first = client.exchange(pending, str(code))
    expect_status(first, 200)
    tokens = Tokens(first.json(), first, client.key)
    again = client.exchange(pending, str(code))
    expect_refused(again, "a second token request with the same authorization code", 400)
    expect(
        oauth_error(again) == "invalid_grant",
        "the reused code refused with error invalid_grant (RFC 6749 §5.2)",
        oauth_error(again),
        again,
    )
    return tokens


def token_without_dpop_is_refused(client: OAuthClient, tokens: Tokens) -> None:
    """A DPoP-bound access token is refused at the resource server as a Bearer token and without a proof."""
    bearer = client.resource(
        "GET", "com.atproto.server.getSession", tokens.access_token, scheme="Bearer", proof=lambda nonce: None
    )
    expect_refused(bearer, "a DPoP-bound access token sent as a Bearer token without a proof", 400, 401)
    bare = client.resource(
        "GET", "com.atproto.server.getSession", tokens.access_token, proof=lambda nonce: None
    )
    expect_refused(bare, "a DPoP-bound access token sent without a DPoP proof", 400, 401)
