"""Client metadata documents as the server must judge them, and confidential clients: the document fetched
from the ``client_id`` URL (200, no redirect, matching ``client_id``), its required fields and URL rules,
``private_key_jwt`` client assertions, and sessions bound to the client's key (spec §Clients, §Client ID
Metadata Document, §Confidential Client, §Tokens).

Not judged: revoking a confidential session once its key leaves the client metadata (the spec says the
server *should*, and no catalogue row holds that SHOULD alone).

atcheck serves every document itself (:mod:`atcheck.suite.oauth_host`), so the target must fetch from it
(it is pointed there through ``identity.local-resolvers``); each refusal case breaks one rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from atcheck.suite import Account, expect, expect_status
from atcheck.suite.oauth import (
    ClientHost,
    Document,
    Es256Key,
    OAuthClient,
    OAuthServer,
    Pkce,
    discoverable_client,
)
from atcheck.suite.oauth_checks import expect_refused
from atcheck.suite.oauth_jose import client_assertion

pytestmark = pytest.mark.needs("oauth", "identity.local-resolvers", "account.create")


def _par(server: OAuthServer, host: ClientHost, **kwargs: Any) -> tuple[OAuthClient, Any]:
    """PAR for a fresh client served by ``host``; fails unless the server fetched the client's metadata (a
    refusal must come from reading it)."""
    client = OAuthClient(server, discoverable_client(host, **kwargs))
    resp = client.par(client.par_fields(Pkce.new(), secrets.token_urlsafe(12)))
    path = urlsplit(client.config.client_id).path
    fetched = host.fetches.get(path, 0) >= 1
    expect(fetched or resp.status < 400, f"the server to fetch {client.config.client_id}", host.fetches, resp)
    return client, resp


@pytest.mark.requirement("OAUTH-CM-01", "OAUTH-CM-02")
@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
def test_a_valid_client_metadata_document_is_accepted(
    oauth_server: OAuthServer, host: ClientHost, module_account: Account, confidential: bool
) -> None:
    """The control for every refusal below: the same document, unbroken, gets through the whole flow."""
    client = OAuthClient(oauth_server, discoverable_client(host, confidential=confidential))
    tokens = client.login(module_account)
    assert tokens.refresh_token is not None
    expect_status(client.refresh(tokens.refresh_token), 200)


def _redirected(metadata: dict[str, Any]) -> Document:
    return Document({}, status=302, headers={"Location": metadata["client_id"] + ".real"})


DOCUMENTS: list[Any] = [
    pytest.param(_redirected, id="302-redirect"),
    pytest.param(lambda m: Document(m, status=201), id="201-created"),
    pytest.param(
        lambda m: Document({**m, "client_id": m["client_id"] + "?other"}), id="mismatched-client_id"
    ),
]


@pytest.mark.requirement("OAUTH-CM-01")
@pytest.mark.parametrize("document", DOCUMENTS)
def test_client_metadata_must_be_a_200_for_this_client_id(
    oauth_server: OAuthServer, host: ClientHost, document: Callable[[dict[str, Any]], Document]
) -> None:
    """The document answered with a redirect (to a valid copy, served), a 201, or naming another client_id
    is refused, and the server did fetch it."""
    client = OAuthClient(oauth_server, discoverable_client(host, document=document))
    path = urlsplit(client.config.client_id).path
    if document is _redirected:
        host.put(path + ".real", Document(client.config.metadata))
    resp = client.par(client.par_fields(Pkce.new(), secrets.token_urlsafe(12)))
    expect_refused(resp, "a client whose metadata document is not a plain 200 for its client_id", 400, 401)
    expect(
        host.fetches.get(path, 0) >= 1, f"the server to fetch {client.config.client_id}", host.fetches, resp
    )


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda m: m.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda m: m.pop(key, None)


FIELDS: list[Any] = [
    pytest.param(_set("grant_types", ["refresh_token"]), False, id="no-authorization_code-grant"),
    pytest.param(_set("response_types", ["token"]), False, id="no-code-response-type"),
    pytest.param(_set("scope", "transition:generic"), False, id="scope-without-atproto"),
    pytest.param(_set("redirect_uris", []), False, id="no-redirect_uris"),
    pytest.param(_set("dpop_bound_access_tokens", False), False, id="dpop-bound-false"),
    pytest.param(_drop("dpop_bound_access_tokens"), False, id="dpop-bound-absent"),
    pytest.param(_set("token_endpoint_auth_signing_alg", "none"), True, id="confidential-alg-none"),
    pytest.param(_drop("jwks"), True, id="confidential-no-keys"),
    pytest.param(
        _set("jwks_uri", "https://client.oauth.atcheck/jwks.json"),
        True,
        id="confidential-jwks-and-jwks_uri",
    ),
    pytest.param(
        lambda m: (m.pop("jwks"), m.__setitem__("jwks_uri", "http://client.oauth.atcheck/jwks.json")),
        True,
        id="confidential-http-jwks_uri",
    ),
]


@pytest.mark.requirement("OAUTH-CM-02")
@pytest.mark.parametrize("edit, confidential", FIELDS)
def test_client_metadata_missing_a_required_property_is_refused(
    oauth_server: OAuthServer, host: ClientHost, edit: Callable[[dict[str, Any]], None], confidential: bool
) -> None:
    _, resp = _par(oauth_server, host, edit=edit, confidential=confidential)
    expect_refused(resp, "a client whose metadata breaks a required property", 400, 401)


URLS: list[Any] = [
    pytest.param(_set("client_uri", "https://elsewhere.atcheck.example/"), id="client_uri-other-host"),
    pytest.param(_set("logo_uri", "http://client.oauth.atcheck/logo.png"), id="logo_uri-http"),
    pytest.param(_set("tos_uri", "http://client.oauth.atcheck/tos"), id="tos_uri-http"),
    pytest.param(_set("policy_uri", "http://client.oauth.atcheck/policy"), id="policy_uri-http"),
]


@pytest.mark.requirement("OAUTH-CM-03")
@pytest.mark.parametrize("edit", URLS)
def test_client_metadata_urls_follow_the_rules(
    oauth_server: OAuthServer, host: ClientHost, edit: Callable[[dict[str, Any]], None]
) -> None:
    _, resp = _par(oauth_server, host, edit=edit)
    expect_refused(resp, "a client whose metadata URLs break the rules", 400, 401)


@pytest.mark.requirement("OAUTH-PAR-03")
@pytest.mark.parametrize(
    "redirect",
    [
        pytest.param("http://client.oauth.atcheck/callback", id="web-http"),
        pytest.param("https://elsewhere.atcheck.example/callback", id="web-other-origin"),
        pytest.param("example.atcheck.elsewhere:/callback", id="native-scheme-not-reversed-host"),
        pytest.param("internal.atcheck.client://callback", id="native-scheme-double-slash"),
    ],
)
def test_redirect_uris_breaking_the_web_and_native_rules_are_refused(
    oauth_server: OAuthServer, host: ClientHost, redirect: str
) -> None:
    """Web clients redirect over https to their own origin; native clients to the reversed client_id host
    as a scheme followed by ``:/``."""
    native = not redirect.startswith(("http://", "https://"))

    def edit(m: dict[str, Any]) -> None:
        m["redirect_uris"] = [redirect]
        m["application_type"] = "native" if native else "web"

    client = OAuthClient(oauth_server, discoverable_client(host, edit=edit))
    client.config.redirect_uri = redirect
    resp = client.par(client.par_fields(Pkce.new(), secrets.token_urlsafe(12)))
    expect_refused(resp, f"a client redirecting to {redirect}", 400, 401)


def _confidential(server: OAuthServer, host: ClientHost) -> OAuthClient:
    return OAuthClient(server, discoverable_client(host, confidential=True))


ASSERTIONS: list[Any] = [
    pytest.param("client_secret", id="client_secret-instead"),
    pytest.param("wrong-aud", id="assertion-wrong-aud"),
    pytest.param("unknown-key", id="assertion-key-not-in-jwks"),
    pytest.param("replayed-jti", id="assertion-replayed-jti"),
]


@pytest.mark.requirement("OAUTH-PAR-04")
@pytest.mark.parametrize("case", ASSERTIONS)
def test_confidential_client_authentication_is_checked(
    oauth_server: OAuthServer, host: ClientHost, case: str
) -> None:
    client = _confidential(oauth_server, host)
    assert client.config.key is not None
    fields = client.par_fields(Pkce.new(), secrets.token_urlsafe(12))
    cid = client.config.client_id
    if case == "client_secret":
        fields.pop("client_assertion")
        fields.pop("client_assertion_type")
        fields["client_secret"] = "atcheck-secret"
    elif case == "wrong-aud":
        fields["client_assertion"] = client_assertion(
            client.config.key, cid, "https://elsewhere.atcheck.example"
        )
    elif case == "unknown-key":
        fields["client_assertion"] = client_assertion(
            Es256Key(kid=client.config.key.kid), cid, oauth_server.issuer
        )
    else:
        first = client.par(fields)
        expect_status(first, 200, 201)
        fields = {
            **client.par_fields(Pkce.new(), secrets.token_urlsafe(12)),
            "client_assertion": fields["client_assertion"],
        }
    expect_refused(client.par(fields), f"a confidential client's request ({case})", 400, 401)


@pytest.mark.requirement("OAUTH-TOK-05")
def test_confidential_refresh_must_use_the_sessions_client_key(
    oauth_server: OAuthServer, host: ClientHost, module_account: Account
) -> None:
    """A second key added to the client's jwks may not refresh a session started with the first."""
    client = _confidential(oauth_server, host)
    tokens = client.login(module_account)
    assert client.config.key is not None and client.config.metadata is not None and tokens.refresh_token
    second = Es256Key()
    metadata = client.config.metadata
    metadata["jwks"] = {
        "keys": [client.config.key.public_jwk(with_kid=True), second.public_jwk(with_kid=True)]
    }
    host.put(urlsplit(client.config.client_id).path, Document(metadata))
    fields = {
        "client_id": client.config.client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(second, client.config.client_id, oauth_server.issuer),
        "grant_type": "refresh_token",
        "refresh_token": tokens.refresh_token,
    }
    expect_refused(
        client.token(fields), "a refresh authenticated with another key than the session's", 400, 401
    )
