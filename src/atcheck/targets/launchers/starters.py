"""Starters for services that are not servers, by role: a registration point below the code that knows them.

The process launcher starts servers: a command, a port, a health URL. A few kinds of service start otherwise;
a library target (role ``lib``) is a harness of ours driven over stdin/stdout, with no port at all. The code
that knows how to start one lives in a layer above the targets (:mod:`atcheck.libs.launch`), so the launcher
must not import it: that layer registers its starter here when it is imported, and the launcher asks here by
role. The run (:mod:`atcheck.run`) and every other entry point that may start a library imports that layer
first; a launch that finds no starter for a role that needs one fails with one clear line, rather than
starting a harness as if it were a server and waiting for a port it will never open.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from atcheck.errors import LaunchError
from atcheck.targets.launchers.base import LaunchContext, RunningService
from atcheck.targets.model import Role, ServiceSpec, TargetManifest
from atcheck.targets.templating import RunSecrets


class StartedService(RunningService, Protocol):
    """What a starter returns: a running service whose output goes to a log file, as every service the process
    launcher starts does (callers name that log in their errors)."""

    log_path: Path


#: Starts ``service`` of ``target`` and returns it ready, or raises a one-line AtcheckError, nothing left up.
Starter = Callable[[TargetManifest, ServiceSpec, LaunchContext, RunSecrets], StartedService]

#: The roles whose services only a registered starter can start (they have no port and no health URL).
NEEDS_STARTER: frozenset[Role] = frozenset({Role.LIB})

#: Which module registers the starter of each role of NEEDS_STARTER (named in the error when it is missing).
REGISTERED_BY: dict[Role, str] = {Role.LIB: "atcheck.libs.launch"}

_STARTERS: dict[Role, Starter] = {}


def register_starter(role: Role, starter: Starter) -> None:
    """Make ``starter`` start every service that plays ``role`` (idempotent: a later call replaces it)."""
    _STARTERS[role] = starter


def starter_for(service: ServiceSpec, at: str) -> Starter | None:
    """The starter registered for one of ``service``'s roles; None for a server, which the launcher starts.

    Raises LaunchError when a role of the service needs a starter and none is registered (``at`` names the
    service in that error).
    """
    for role in service.roles:
        found = _STARTERS.get(role)
        if found is not None:
            return found
    for role in service.roles:
        if role in NEEDS_STARTER:
            raise LaunchError(
                f"{at}: nothing here starts a service of role {role.value!r} "
                f"(its starter registers when {REGISTERED_BY[role]} is imported)"
            )
    return None
