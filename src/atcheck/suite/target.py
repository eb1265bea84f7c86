"""The target under test as a suite sees it: endpoints by role, capabilities, clients that keep evidence.

Suites never see processes or launchers. The plugin starts a target and hands the suite a
:class:`TargetUnderTest`; everything a test does goes through the clients it gives out, so every exchange is
recorded as evidence for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from atcheck.accounts import Account
from atcheck.containers.compare import LAUNCHER_SKIP
from atcheck.targets.model import Role, ServiceEndpoint, TargetManifest
from atcheck.targets.stack import RunningTarget
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient


class TargetDidNotStart(Exception):
    """Raised in fixture setup: every test of that target is an error (not a failure), with this reason."""


@dataclass
class TargetUnderTest:
    """A started target as a suite sees it: endpoints by role, capabilities, clients that keep evidence."""

    name: str
    manifest: TargetManifest
    running: RunningTarget
    recorder: EvidenceRecorder
    _clients: dict[Role, XrpcClient] = field(default_factory=dict)

    @property
    def handle_domain(self) -> str:
        return self.manifest.handle_domain

    def supports(self, capability: str) -> bool:
        return self.manifest.supports(capability)

    def endpoint(self, role: Role | str) -> ServiceEndpoint:
        found = self.running.endpoint(Role(role))
        if found is None:
            pytest.skip(f"target {self.name} has no {Role(role).value}")
        return found

    def client(self, role: Role | str = Role.PDS) -> XrpcClient:
        role = Role(role)
        if role not in self._clients:
            self._clients[role] = XrpcClient(self.endpoint(role).url, recorder=self.recorder)
        return self._clients[role]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


#: ``helper_service(role)``: the reference's ``role`` service for a target without one of its own (fixture
#: ``helper_service``): its manifest and endpoint; raises the launch error when it cannot start.
HelperService = Callable[[Role], tuple[TargetManifest, ServiceEndpoint]]


@dataclass
class ShortWindowPds:
    """A separate instance of the target's PDS whose ``subscribeRepos`` replay window is short (the
    manifest's ``short_window``): ``seconds`` old or ``events`` long, one of the two. It is one test
    module's own server, followed by no relay, stopped when the module is done."""

    target: TargetUnderTest
    seconds: float | None
    events: int | None
    new_account: Callable[[], Account]


def skip_under_launcher(target: TargetUnderTest, launcher: str, why: str) -> None:
    """Skip the test when ``target`` runs under ``launcher``, because the check itself cannot work there
    (not because the implementation lacks something). ``atcheck containers compare`` then counts the check as
    not comparable rather than as a difference between the launchers."""
    if target.running.launcher == launcher:
        pytest.skip(f"{LAUNCHER_SKIP}{launcher} launcher: {why}")
