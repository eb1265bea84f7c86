"""Find and remove the containers, networks and volumes that atcheck runs created.

Ryuk (testcontainers' reaper) cannot be pulled here, so cleanup is ours. Everything a run creates carries
labels: :data:`LABEL_MANAGED`, the run's own labels (``org.atcheck.run``), and :data:`LABEL_OWNER`, which
names the process that created it (host, PID and the PID's start time, so a reused PID does not pass for
the owner).
A run removes what it made when it stops; resources whose owner process is gone (a run killed with SIGKILL, a
crashed interpreter) are removed by the next run's launcher, or by ``atcheck containers prune``.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass, field
from functools import cache
from typing import Any

LABEL_MANAGED = "org.atcheck.managed"
LABEL_OWNER = "org.atcheck.owner"
LABEL_RUN = "org.atcheck.run"


def _start_time(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = open(f"/proc/{pid}/stat", encoding="ascii", errors="replace").read()  # noqa: SIM115
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


@cache
def owner_id() -> str:
    """``host:pid:start-time`` of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}"


def owner_alive(owner: str) -> bool:
    """Whether the process named by an owner label still runs. Owners on other hosts count as alive."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return _start_time(pid) == started


def ownership_labels(run_labels: dict[str, str]) -> dict[str, str]:
    """The labels every container and network of this process gets."""
    return {**run_labels, LABEL_MANAGED: "true", LABEL_OWNER: owner_id()}


@dataclass
class Removed:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def summary(self) -> str:
        return (
            f"{len(self.containers)} container(s), {len(self.networks)} network(s), "
            f"{len(self.volumes)} volume(s)"
        )


def _chosen(labels: dict[str, str], *, run_id: str | None, stale_only: bool) -> bool:
    if labels.get(LABEL_MANAGED) != "true":
        return False
    if run_id is not None:
        return labels.get(LABEL_RUN) == run_id
    if stale_only:
        return not owner_alive(labels.get(LABEL_OWNER, ""))
    return True


def remove_resources(client: Any, *, run_id: str | None = None, stale_only: bool = True) -> Removed:
    """Remove atcheck's containers, then networks, then volumes.

    ``run_id`` selects one run's resources; otherwise ``stale_only`` selects those whose owner process is
    gone, and ``stale_only=False`` selects every resource atcheck ever labelled (``containers prune --all``).
    Never raises for a resource that vanished meanwhile.
    """
    from atcheck.containers.engine import docker_errors

    not_found = docker_errors().NotFound
    removed = Removed()
    selector = {"label": f"{LABEL_MANAGED}=true"}
    for container in client.containers.list(all=True, filters=selector):
        if _chosen(container.labels or {}, run_id=run_id, stale_only=stale_only):
            with contextlib.suppress(not_found):
                container.remove(force=True, v=True)
                removed.containers.append(container.name)
    for network in client.networks.list(filters=selector):
        labels = network.attrs.get("Labels") or {}
        if _chosen(labels, run_id=run_id, stale_only=stale_only):
            with contextlib.suppress(not_found):
                network.remove()
                removed.networks.append(network.name)
    for volume in client.volumes.list(filters=selector):
        labels = volume.attrs.get("Labels") or {}
        if _chosen(labels, run_id=run_id, stale_only=stale_only):
            with contextlib.suppress(not_found):
                volume.remove(force=True)
                removed.volumes.append(volume.name)
    return removed


def leftovers(client: Any, *, run_id: str | None = None) -> Removed:
    """What :func:`remove_resources` would remove for ``run_id`` (or of any run), without removing it."""
    found = Removed()
    selector = {"label": f"{LABEL_MANAGED}=true"}
    for container in client.containers.list(all=True, filters=selector):
        if _chosen(container.labels or {}, run_id=run_id, stale_only=False):
            found.containers.append(container.name)
    for network in client.networks.list(filters=selector):
        if _chosen(network.attrs.get("Labels") or {}, run_id=run_id, stale_only=False):
            found.networks.append(network.name)
    for volume in client.volumes.list(filters=selector):
        if _chosen(volume.attrs.get("Labels") or {}, run_id=run_id, stale_only=False):
            found.volumes.append(volume.name)
    return found
