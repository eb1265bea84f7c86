"""The launchers by kind: what starts a service of a ``process``, ``container`` or ``url`` target.

A new way of starting services is one entry here (and a class implementing
:class:`~atcheck.targets.launchers.base.Launcher`); nothing else dispatches on the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from atcheck.errors import ManifestError
from atcheck.targets.launchers.base import Launcher
from atcheck.targets.launchers.process import ProcessLauncher
from atcheck.targets.launchers.url import UrlLauncher
from atcheck.targets.templating import RunSecrets


def _container(secrets: RunSecrets) -> Launcher:
    # Imported on first use: it pulls in testcontainers, which a process-only run never needs.
    from atcheck.targets.launchers.container import ContainerLauncher

    return ContainerLauncher(secrets)


LAUNCHERS: Mapping[str, Callable[[RunSecrets], Launcher]] = {
    "process": ProcessLauncher,
    "container": _container,
    "url": UrlLauncher,
}


def new_launcher(kind: str, secrets: RunSecrets | None = None) -> Launcher:
    """A launcher of ``kind`` that draws the run's generated secrets from ``secrets``."""
    factory = LAUNCHERS.get(kind)
    if factory is None:
        raise ManifestError(f"unknown launcher {kind!r} (known: {', '.join(LAUNCHERS)})")
    return factory(secrets or RunSecrets())
