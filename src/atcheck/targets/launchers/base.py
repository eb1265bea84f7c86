"""The interface every launcher implements.

A launcher turns a :class:`~atcheck.targets.model.ServiceSpec` into a running service and back. The run's
:class:`LaunchContext` gives it what it must not invent itself: where logs and data go, the endpoints of the
roles the service needs, and the secrets generated for this run (so report writers can scrub them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from atcheck.targets.model import Role, ServiceEndpoint, ServiceSpec, TargetManifest


@dataclass
class LaunchContext:
    """Per-run facts a launcher needs."""

    run_id: str
    run_dir: Path  # private scratch dir of this run (data dirs live below it); removed at the end
    log_dir: Path  # reports/<run>/logs/
    needs: dict[Role, ServiceEndpoint] = field(default_factory=dict)  # endpoints for ServiceSpec.needs
    # Every endpoint of the run's other targets for each role of ServiceSpec.needs_all (a relay's PDSes).
    needs_all: dict[Role, list[ServiceEndpoint]] = field(default_factory=dict)
    services: dict[str, ServiceEndpoint] = field(default_factory=dict)  # for ServiceSpec.needs_services
    tools: dict[str, str] = field(default_factory=dict)  # e.g. {"node22": "/path/to/node"}
    secrets: list[str] = field(default_factory=list)  # every secret generated for the run is appended here
    labels: dict[str, str] = field(default_factory=dict)  # container labels that mark what this run created
    target_name: str = ""  # the run's name of the target being started (e.g. "reference@container")


class RunningService(Protocol):
    """A started service. ``stop`` must be safe to call twice and must not raise."""

    spec: ServiceSpec
    endpoints: list[ServiceEndpoint]  # one per role the service plays

    def alive(self) -> bool: ...

    def exit_summary(self) -> str:
        """Why the service is not alive any more (exit code, last log lines), for error messages."""
        ...

    def stop(self) -> None: ...


class Launcher(Protocol):
    kind: str

    def unavailable_reason(self) -> str | None:
        """None when this launcher can run here; else a one-line reason and how to fix it."""
        ...

    def start(self, target: TargetManifest, service: ServiceSpec, ctx: LaunchContext) -> RunningService:
        """Start ``service`` and return once it is ready, or raise LaunchError (after stopping it)."""
        ...


def log_tail(text: str, lines: int = 15) -> str:
    """The last non-blank lines of a service's output on one line, for one-line error messages."""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) if kept else "(empty log)"
