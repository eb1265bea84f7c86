"""A target as a run names it, parsed once from the user's words into a value carried everywhere.

``--target`` takes a built-in name (``reference``), a manifest path (``my.toml``) or a URL, and a name or path
may end in ``@container`` to run the same manifest under the container launcher. :func:`parse_target` reads
that once into a :class:`TargetSpec` (the run's name, the manifest, the launcher kind); the stack, the plugin,
the reports and the baseline take the value and never look at the suffix again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from atcheck.errors import UsageError
from atcheck.targets.manifest import resolve_target, url_manifest
from atcheck.targets.model import Credentials, LauncherKind, Role, ServiceSpec, TargetManifest

CONTAINER_SUFFIX = "@container"
#: ``reference#2`` is the second instance of ``reference`` (see :meth:`TargetSpec.instance`).
INSTANCE_SEPARATOR = "#"

#: The targets a run checks when none is named.
DEFAULT_TARGETS = ("reference", "arroba", "skyware-labeler", "indigo-relay")
#: The defaults under ``--launcher container``: the default targets that have a container image.
DEFAULT_CONTAINER_TARGETS = ("reference", "arroba", "skyware-labeler")
#: Default targets whose install is optional (the relay is built with Go, which a machine may lack): where one
#: cannot run, a default run reports it as not run, with its setup script's reason, and checks the rest.
OPTIONAL_DEFAULTS = frozenset({"indigo-relay"})

_LAUNCHERS: tuple[LauncherKind, ...] = ("process", "container", "url")


@dataclass(frozen=True)
class TargetSpec:
    """One target of a run: what suites and reports call it, its manifest, and how it is started."""

    name: str  # the run's name: "reference", "reference@container", "url:127.0.0.1:2583"
    manifest: TargetManifest
    launcher: LauncherKind
    # A target the run may go without when its install is missing here, reported as not run with the reason: a
    # default target of OPTIONAL_DEFAULTS (never one the user named), and every library target (role lib),
    # named or not, since one language's missing toolchain must not stop the other libraries' run.
    optional: bool = False

    @classmethod
    def of(cls, manifest: TargetManifest, launcher: LauncherKind | None = None) -> TargetSpec:
        """``manifest`` under ``launcher`` (default: url when every service has a URL, else process)."""
        if launcher is None:
            launcher = "url" if all(s.url for s in manifest.services) else "process"
        name = manifest.name + CONTAINER_SUFFIX if launcher == "container" else manifest.name
        library = manifest.roles == (Role.LIB,)
        return cls(name=name, manifest=manifest, launcher=launcher, optional=library)

    def instance(self, number: int, services: tuple[ServiceSpec, ...]) -> TargetSpec:
        """Instance ``number`` (2 and up) of this target, run name ``NAME#number``, of ``services`` only.

        Its manifest carries the instance's name, so its endpoints, data dirs and logs are its own.
        """
        if number < 2:
            raise ValueError("instance numbers start at 2 (the target itself is the first)")
        name = f"{self.name}{INSTANCE_SEPARATOR}{number}"
        return TargetSpec(
            name=name, manifest=replace(self.manifest, name=name, services=services), launcher=self.launcher
        )

    @property
    def implementation_name(self) -> str:
        """The manifest's own name: ``reference@container`` is the same implementation as ``reference``."""
        return self.manifest.name


def parse_target(
    spec: str, *, launcher: LauncherKind | None = None, credentials: Credentials | None = None
) -> TargetSpec:
    """Read one ``--target`` value. ``launcher`` (``--launcher``) applies to names and manifest paths that
    do not say ``@container`` themselves; ``credentials`` are those of a URL target."""
    if launcher is not None and launcher not in _LAUNCHERS:
        raise UsageError(f"unknown launcher {launcher!r} (known: {', '.join(_LAUNCHERS)})")
    if "://" in spec:
        return TargetSpec.of(url_manifest(spec, credentials=credentials or Credentials()), "url")
    if spec.endswith(CONTAINER_SUFFIX):
        return TargetSpec.of(resolve_target(spec.removesuffix(CONTAINER_SUFFIX)), "container")
    manifest = resolve_target(spec)
    return TargetSpec.of(manifest, launcher if launcher in ("process", "container") else None)


def parse_targets(
    specs: Iterable[str],
    *,
    launcher: LauncherKind | None = None,
    credentials: Credentials | None = None,
) -> dict[str, TargetSpec]:
    """The run's targets by name, in the order given; the defaults when ``specs`` is empty."""
    targets: dict[str, TargetSpec] = {}
    defaults = DEFAULT_CONTAINER_TARGETS if launcher == "container" else DEFAULT_TARGETS
    named = list(specs)
    for spec in named or list(defaults):
        target = parse_target(spec, launcher=launcher, credentials=credentials)
        if not named and spec in OPTIONAL_DEFAULTS:
            target = replace(target, optional=True)
        targets[target.name] = target
    return targets


def unavailable_reason(target: TargetSpec) -> str | None:
    """Why a process target cannot run here before trying (a tool it needs is not installed), or None."""
    from atcheck.tools import missing_tools

    if target.launcher != "process":
        return None
    for service in target.manifest.services:
        problem = missing_tools(service.process.requires) if service.process is not None else None
        if problem:
            return problem
    return None
