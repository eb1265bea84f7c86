"""Fixtures of the OAuth suite: the discovered authorization server, atcheck's client host, and clients.

Everything here needs the target's ``oauth`` capability (each test module marks it), so a target without an
authorization server reports every OAuth test as skipped, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from atcheck.suite import Account, TargetUnderTest, XrpcClient, skip_under_launcher
from atcheck.suite.oauth import (
    CLIENT_HOST,
    CLIENT_ZONE,
    ClientHost,
    FirstNonce,
    OAuthClient,
    OAuthServer,
    Tokens,
    client_host,
    discover,
    loopback_client,
)
from atcheck.suite.resolvers import LocalCa, pointed_at


@pytest.fixture(autouse=True)
def _not_in_containers(target: TargetUnderTest) -> None:
    """The OAuth flow cannot run against a containerised PDS as set up today: it names itself as issuer and
    resource at its in-container address (http://localhost:<container port>), which the host does not
    reach, and it cannot reach atcheck's client host on the host's loopback."""
    skip_under_launcher(
        target,
        "container",
        "the PDS's OAuth issuer is its in-container address, unreachable from the host, and the client "
        "metadata host on the host's loopback is unreachable from the container",
    )


@pytest.fixture
def oauth_server(pds: XrpcClient) -> OAuthServer:
    """The PDS's protected-resource metadata and its authorization server's metadata."""
    return discover(pds)


@pytest.fixture(scope="module")
def _client_ca() -> LocalCa:
    """A throw-away CA whose certificate covers the client host's name."""
    return LocalCa.make(CLIENT_ZONE)


@pytest.fixture(scope="module")
def _served(_client_ca: LocalCa) -> Iterator[ClientHost]:
    with client_host(_client_ca) as running:
        yield running


@pytest.fixture
def host(target: TargetUnderTest, _served: ClientHost, _client_ca: LocalCa) -> Iterator[ClientHost]:
    """atcheck's https host of client metadata documents (one per module), with the target pointed at it for
    this test: it resolves the host's name to 127.0.0.1 and trusts its CA (``identity.local-resolvers``)."""
    with pointed_at(target, hosts={CLIENT_HOST: "127.0.0.1"}, ca=_client_ca):
        yield _served


@pytest.fixture
def loopback(oauth_server: OAuthServer) -> OAuthClient:
    """A localhost development client asking for ``atproto transition:generic``, with a fresh DPoP key."""
    return OAuthClient(oauth_server, loopback_client())


@pytest.fixture
def tokens(loopback: OAuthClient, module_account: Account) -> Tokens:
    """A fresh session of the module's account through the whole flow, for the ``loopback`` client."""
    return loopback.login(module_account)


@pytest.fixture(scope="session")
def _first_nonces() -> dict[str, FirstNonce]:
    """Target name -> the first DPoP nonce the run saw from its authorization server."""
    return {}


@pytest.fixture(autouse=True)
def _nonce_clock(
    _not_in_containers: None,
    target: TargetUnderTest,
    _first_nonces: dict[str, FirstNonce],
    request: pytest.FixtureRequest,
) -> None:
    """Start the nonce-rotation clock at a target's first OAuth test: OAUTH-DPOP-03 (which runs last, marked
    ``late``) judges rotation from this moment, so the run's length pays for its wait."""
    if target.name not in _first_nonces:
        client: OAuthClient = request.getfixturevalue("loopback")
        _first_nonces[target.name] = FirstNonce(client.current_nonce(), time.monotonic())


@pytest.fixture
def first_nonce(target: TargetUnderTest, _first_nonces: dict[str, FirstNonce]) -> FirstNonce:
    """The first DPoP nonce the run saw from the target's authorization server, and when."""
    return _first_nonces[target.name]
