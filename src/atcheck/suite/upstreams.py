"""The PDSes a relay under test follows, as its federation tests see them.

Kept apart from the stream helpers of :mod:`atcheck.suite.federation` so the pytest plugin can hand them out
without importing WebSocket code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from atcheck.accounts import Account
from atcheck.suite.target import TargetUnderTest
from atcheck.targets.model import Role
from atcheck.xrpc.client import XrpcClient

__all__ = ["RelayOverTwins", "Upstream", "host_name"]


def host_name(url: str) -> str:
    """How a relay names the host at ``url``: ``host[:port]`` without a scheme, ``localhost`` for loopback
    (a relay follows a loopback PDS as ``localhost:PORT``, the name in its accounts' DID documents)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    return f"{host}:{parts.port}" if parts.port else host


@dataclass
class Upstream:
    """A PDS target that the relay under test follows, and a way to make fresh accounts on it."""

    target: TargetUnderTest
    new_account: Callable[[], Account]

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def url(self) -> str:
        return self.target.endpoint(Role.PDS).url

    @property
    def hostname(self) -> str:
        """The host name the relay uses for this PDS (``localhost:PORT``)."""
        return host_name(self.url)

    def client(self) -> XrpcClient:
        return self.target.client(Role.PDS)


@dataclass
class RelayOverTwins:
    """A relay following ``source`` (a PDS target) and ``dest`` (its second instance): the scene in which an
    account moves between two PDSes under one relay's eyes."""

    relay: TargetUnderTest
    source: Upstream
    dest: TargetUnderTest
