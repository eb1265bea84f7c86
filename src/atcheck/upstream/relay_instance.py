"""A fresh instance of a run's relay target that follows only the hostile upstream.

The run's own relay follows the run's PDSes, and the federation suites judge what it relays; feeding it a
hostile stream would both need a restart (a relay learns its hosts at start: indigo's API refuses loopback
hosts) and pollute their evidence. So the hostile-upstream suite starts the *same* target again (same
manifest, launcher, binary and PLC) with the emulator as its only PDS, in a scratch directory, and stops
it at the end. Only the process launcher is supported: the emulator listens on the host's loopback, which
a relay in a container cannot reach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessLauncher
from atcheck.targets.model import Role, ServiceEndpoint, TargetManifest
from atcheck.targets.templating import RunSecrets

__all__ = ["RelayInstance", "UnsupportedRelay", "relay_following"]


class UnsupportedRelay(Exception):
    """This relay target cannot be pointed at the emulator (the reason is the message)."""


class RelayInstance:
    def __init__(self, endpoint: ServiceEndpoint, log_path: Path | None) -> None:
        self.endpoint = endpoint
        self.log_path = log_path

    @property
    def ws_url(self) -> str:
        return self.endpoint.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)

    def log(self) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def relay_following(
    manifest: TargetManifest,
    launcher: str,
    plc: ServiceEndpoint,
    upstream_url: str,
    scratch: Path,
    *,
    target_name: str,
) -> Iterator[RelayInstance]:
    """Start the relay service of ``manifest`` following only ``upstream_url``; stop it on exit."""
    if launcher != "process":
        raise UnsupportedRelay(
            f"the {launcher} launcher: the hostile upstream listens on this machine's loopback, and only a "
            "relay started as a local process can reach it"
        )
    service = next((s for s in manifest.services if Role.RELAY in s.roles), None)
    if service is None or service.process is None:
        raise UnsupportedRelay(f"target {manifest.name} has no relay service atcheck can start")
    if Role.PDS not in service.needs_all:
        raise UnsupportedRelay(
            f'target {manifest.name}\'s relay does not declare needs_all = ["pds"], so it cannot be told '
            "which PDS to follow"
        )
    upstream = ServiceEndpoint(target="atcheck-upstream", service="pds", role=Role.PDS, url=upstream_url)
    ctx = LaunchContext(
        run_id="hostile-upstream",
        run_dir=scratch,
        log_dir=scratch / "logs",
        needs={Role.PLC: plc},
        needs_all={Role.PDS: [upstream]},
        target_name=f"{target_name}+hostile-upstream",
    )
    running = ProcessLauncher(RunSecrets()).start(manifest, service, ctx)
    try:
        endpoint = next(e for e in running.endpoints if e.role == Role.RELAY)
        yield RelayInstance(endpoint, running.log_path)
    finally:
        running.stop()
