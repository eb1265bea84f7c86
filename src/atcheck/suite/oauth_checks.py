"""Verdicts of the OAuth suite that a self-test also runs against a faulty authorization server.

Each function plays one refusal case through an :class:`~atcheck.suite.oauth.OAuthClient` and raises
:class:`~atcheck.checks.ConformanceFailure` when the server accepts what the spec says it must refuse. The
suite's tests call them against real targets; ``tests/suite/test_oauth_faults.py`` calls them against a fake
authorization server that accepts plain PKCE, a reused code, or a token without DPoP, and expects failures.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import quote

from atcheck.checks import ConformanceFailure, expect, expect_status
from atcheck.suite.oauth import OAuthClient, OAuthServer, Pkce, SignIn, Tokens, loopback_client, oauth_error
from atcheck.xrpc.client import XrpcResponse

__all__ = [
    "expect_refused",
    "malformed_glob_grants_nothing",
    "plain_pkce_is_refused",
    "reused_code_is_refused",
    "rpc_permission_limits_service_auth",
    "rpc_scope",
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


def rpc_scope(lxm: str, aud: str) -> str:
    """The scope string of ``rpc:<lxm>?aud=<aud>``, the ``#`` of the service reference percent-encoded."""
    return f"rpc:{lxm}?aud={quote(aud, safe=':')}"


def _jwt_claims(token: object) -> dict[str, Any]:
    """The payload of a compact JWT, unverified (only its claims are compared); {} when it is not one."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def rpc_permission_limits_service_auth(
    client: OAuthClient, tokens: Tokens, granted: tuple[str, str], other_aud: str, other_lxm: str
) -> None:
    """With tokens granting ``rpc_scope(*granted)`` (``(lxm, aud)``), getServiceAuth gives a token for that
    pair (the control: its ``lxm`` and ``aud`` claims, ``aud`` as asked or as the bare DID), and refuses with
    403 another method at that service and that method at another service."""
    lxm, aud = granted

    def service_auth(aud: str, lxm: str) -> XrpcResponse:
        return client.resource(
            "GET", "com.atproto.server.getServiceAuth", tokens.access_token, params={"aud": aud, "lxm": lxm}
        )

    ok = service_auth(aud, lxm)
    expect_status(ok, 200)
    body = ok.json()
    claims = _jwt_claims(body.get("token") if isinstance(body, dict) else None)
    expect(
        claims.get("lxm") == lxm and claims.get("aud") in (aud, aud.split("#")[0]),
        f"a service-auth token for lxm {lxm} and aud {aud} (or its bare DID)",
        {k: claims.get(k) for k in ("aud", "lxm")},
        ok,
    )
    expect_refused(
        service_auth(aud, other_lxm),
        f"getServiceAuth for lxm {other_lxm} with a token granting only rpc:{lxm}",
        403,
    )
    expect_refused(
        service_auth(other_aud, lxm),
        f"getServiceAuth for aud {other_aud} with a token granting only aud {aud}",
        403,
    )


def malformed_glob_grants_nothing(
    server: OAuthServer, account: Any, glob: str, collection: str, sign_in: SignIn | None = None
) -> None:
    """``repo:<glob>``, a pattern breaking the NSID glob rule that a loose matcher would read as covering
    ``collection``: the authorization request is refused, or its token cannot write there (403)."""
    client = OAuthClient(server, loopback_client(f"atproto repo:{glob}"))
    if client.par(client.par_fields(Pkce.new(), secrets.token_urlsafe(12))).status >= 400:
        return
    try:
        tokens = client.login(account, sign_in)
    except ConformanceFailure:
        return  # refused later in the flow
    record = {"$type": collection, "text": "written through OAuth", "createdAt": "2026-01-01T00:00:00.000Z"}
    write = client.resource(
        "POST",
        "com.atproto.repo.createRecord",
        tokens.access_token,
        json_body={"repo": account.did, "collection": collection, "record": record},
    )
    expect_refused(write, f"a write to {collection} with a token granting repo:{glob}", 403)
