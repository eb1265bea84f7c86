"""Fixtures of the OAuth suite: the discovered authorization server, atcheck's client host, and clients.

Everything here needs the target's ``oauth`` capability (each test module marks it), so a target without an
authorization server reports every OAuth test as skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atcheck.suite import Account, XrpcClient
from atcheck.suite.oauth import (
    ClientHost,
    OAuthClient,
    OAuthServer,
    Tokens,
    client_host,
    discover,
    loopback_client,
    oauth_ca_dir,
)


@pytest.fixture
def oauth_server(pds: XrpcClient) -> OAuthServer:
    """The PDS's protected-resource metadata and its authorization server's metadata."""
    return discover(pds)


@pytest.fixture(scope="module")
def host() -> Iterator[ClientHost]:
    """atcheck's https host of client metadata documents, for the module (stopped after it)."""
    with client_host(oauth_ca_dir()) as running:
        yield running


@pytest.fixture
def loopback(oauth_server: OAuthServer) -> OAuthClient:
    """A localhost development client asking for ``atproto transition:generic``, with a fresh DPoP key."""
    return OAuthClient(oauth_server, loopback_client())


@pytest.fixture
def tokens(loopback: OAuthClient, module_account: Account) -> Tokens:
    """A fresh session of the module's account through the whole flow, for the ``loopback`` client."""
    return loopback.login(module_account)
