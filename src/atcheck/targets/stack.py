"""The run's topology: which services run, who provides each role, and starting and stopping them.

Targets start lazily, on the first test that needs them, and in dependency order: a service that *needs*
a role gets it from its own target first, then from a target of the run that provides it (two PDS
targets share the reference PLC, so accounts can move between them), then from the
built-in ``reference`` manifest. A service that *needs all* of a role (a relay: every PDS) gets every
provider among the run's other targets, started first; one that fails to start is left out. Every
started service is stopped by :meth:`Stack.stop_all`, which the run calls on success, failure and Ctrl-C
alike.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from atcheck.errors import AtcheckError, LaunchError, ManifestError
from atcheck.targets.launchers.base import LaunchContext, Launcher, RunningService
from atcheck.targets.launchers.registry import new_launcher
from atcheck.targets.model import Role, ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.spec import TargetSpec
from atcheck.targets.templating import RunSecrets

#: Roles one service plays for the whole run: a second instance of a target uses the first one's.
SHARED_ROLES = frozenset({Role.PLC})


@dataclass
class RunningTarget:
    """A started target as fixtures hand it to suites."""

    manifest: TargetManifest
    name: str
    launcher: str
    endpoints: dict[Role, ServiceEndpoint] = field(default_factory=dict)
    # For each needs_all role: the endpoints of other targets this target was started with (a relay's PDSes).
    needs_all: dict[Role, list[ServiceEndpoint]] = field(default_factory=dict)

    def endpoint(self, role: Role) -> ServiceEndpoint | None:
        return self.endpoints.get(role)


class Stack:
    """Starts targets on demand and remembers failures, so a broken target fails fast for every test."""

    def __init__(
        self,
        targets: Iterable[TargetSpec],
        ctx: LaunchContext,
        *,
        fallback_providers: Iterable[TargetManifest] = (),
    ) -> None:
        # run name (e.g. "reference@container") -> target; start_instance adds to it
        self.targets = {t.name: t for t in targets}
        self.ctx = ctx
        self.secrets = RunSecrets()
        self.fallback = tuple(fallback_providers)
        self._services: dict[tuple[str, str], RunningService] = {}
        self._running: dict[str, RunningTarget] = {}
        self._failed: dict[str, AtcheckError] = {}
        self._failed_services: dict[tuple[str, str], AtcheckError] = {}
        self._launchers: dict[str, Launcher] = {}
        self._given_all: dict[tuple[str, str], dict[Role, list[ServiceEndpoint]]] = {}
        self._lock = threading.RLock()
        self.start_times: dict[str, float] = {}
        # Instances started for one test only (start_instance(private=True)): never given to a relay.
        self._private: set[str] = set()

    # -- launchers ---------------------------------------------------------------------------------------

    def launcher(self, kind: str) -> Launcher:
        """The run's one launcher of ``kind`` (made on first use; they share the run's secrets)."""
        if kind not in self._launchers:
            self._launchers[kind] = new_launcher(kind, self.secrets)
        return self._launchers[kind]

    # -- starting ----------------------------------------------------------------------------------------

    def failure(self, name: str) -> AtcheckError | None:
        return self._failed.get(name)

    def start(self, name: str) -> RunningTarget:
        """Start every service of target ``name`` (once); raise the launch error again on later calls."""
        with self._lock:
            if name in self._running:
                return self._running[name]
            if name in self._failed:
                raise self._failed[name]
            if name not in self.targets:
                raise ManifestError(f"target {name!r} is not a target of this run")
            target = self.targets[name]
            manifest, kind = target.manifest, target.launcher
            started = time.monotonic()
            try:
                reason = self.launcher(kind).unavailable_reason()
                if reason:
                    raise LaunchError(f"the {kind} launcher cannot run here: {reason}")
                running = RunningTarget(manifest=manifest, name=name, launcher=kind)
                for service in manifest.services:
                    self._start_service(name, manifest, service, kind, chain=())
                    for role, given in self._given_all.get((name, service.name), {}).items():
                        running.needs_all.setdefault(role, []).extend(given)
                for role in manifest.roles:
                    provider = manifest.provider(role)
                    assert provider is not None  # the role is in manifest.roles
                    running.endpoints[role] = self._endpoint(self._services[(name, provider.name)], role)
                for role, endpoint in self._shared_needs(name, manifest, kind).items():
                    running.endpoints.setdefault(role, endpoint)
            except AtcheckError as exc:
                self._failed[name] = exc
                raise
            self.start_times[name] = time.monotonic() - started
            self._running[name] = running
            return running

    def start_instance(
        self, name: str, number: int = 2, *, env: Mapping[str, str] | None = None, private: bool = False
    ) -> RunningTarget:
        """Start another instance of target ``name`` (run name ``name#number``), for tests that need two
        servers of one implementation: an account moving from one reference PDS to another.

        The instance starts every service of the manifest except those that play only run-wide roles (the
        PLC): it uses the run's, so accounts can move between the instances. Its data directories, ports and
        secrets are its own. It is not a target of the run (no suite runs against it), but relays started
        after it follow it like any PDS of the run, unless it is ``private`` (one test's own server). ``env``
        is added to each of its services' environment (e.g. a manifest's ``short_window.env``).
        """
        with self._lock:
            target = self.targets[name]
            own = tuple(
                _with_env(s, env or {}) for s in target.manifest.services if not set(s.roles) <= SHARED_ROLES
            )
            if not own:
                raise LaunchError(f"target {name} has no service of its own to start a second time")
            kept = {s.name for s in own}
            if any(other not in kept for s in own for other in s.needs_services):
                raise LaunchError(f"target {name}: a service needs by name a service the run shares")
            instance = target.instance(number, own)
            self.targets.setdefault(instance.name, instance)
            if private:
                self._private.add(instance.name)
        return self.start(instance.name)

    def helper(
        self, role: Role, asker: str, name: str = "reference"
    ) -> tuple[TargetManifest, ServiceEndpoint]:
        """The ``role`` service of target ``name`` (a target of the run, or the fallback provider of that
        name), started on first use, for tests of ``asker`` that use it as a helper, not as a target.

        Why: a library under test has no server of its own, but some of its routines read from one (a
        Lexicon resolver fetches schema records from a PDS and DID documents from a PLC). Those tests use
        the reference's services, started like a PLC borrowed by another target: its services stop with
        the run. Raises the launch error (the caller skips, with the reason).
        """
        with self._lock:
            kind = self.targets[asker].launcher if asker in self.targets else "process"
            spec = self.targets.get(name)
            if spec is None:
                found = next((f for f in self.fallback if f.name == name), None)
                if found is None:
                    raise LaunchError(f"no target {name} can provide a {role.value} for {asker}")
                spec = TargetSpec.of(found, "container" if kind == "container" else "process")
            service = spec.manifest.provider(role)
            if service is None:
                raise LaunchError(f"target {name} has no {role.value} service")
            started = self._start_service(spec.name, spec.manifest, service, spec.launcher, chain=(asker,))
            return spec.manifest, self._endpoint(started, role)

    def stop_instance(self, name: str) -> None:
        """Stop the services of an instance made by :meth:`start_instance` (its test is done). Never raises;
        :meth:`stop_all` would stop them at the end of the run anyway."""
        with self._lock:
            for key in [k for k in self._services if k[0] == name]:
                with contextlib.suppress(Exception):
                    self._services.pop(key).stop()
            self._running.pop(name, None)

    def _shared_needs(self, name: str, manifest: TargetManifest, kind: str) -> dict[Role, ServiceEndpoint]:
        """Endpoints of roles this target needs but does not provide itself (e.g. the shared PLC)."""
        own = set(manifest.roles)
        found: dict[Role, ServiceEndpoint] = {}
        for service in manifest.services:
            for role in service.needs:
                if role not in own and role not in found:
                    found[role] = self._provide(role, name, kind, chain=(name,))
        return found

    def _start_service(
        self,
        name: str,
        manifest: TargetManifest,
        service: ServiceSpec,
        kind: str,
        chain: tuple[str, ...],
    ) -> RunningService:
        key = (name, service.name)
        if key in self._services:
            return self._services[key]
        here = f"{name}/{service.name}"
        if here in chain:
            raise ManifestError(f"target {name}: services need each other in a cycle: {' -> '.join(chain)}")
        needs: dict[Role, ServiceEndpoint] = {}
        for role in service.needs:
            local = manifest.provider(role)
            if local is not None:
                svc = self._start_service(name, manifest, local, kind, (*chain, here))
                needs[role] = self._endpoint(svc, role)
            else:
                needs[role] = self._provide(role, name, kind, (*chain, here))
        named: dict[str, ServiceEndpoint] = {}
        for other_name in service.needs_services:
            other = next(s for s in manifest.services if s.name == other_name)
            named[other_name] = self._start_service(name, manifest, other, kind, (*chain, here)).endpoints[0]
        needs_all = {role: self._provide_all(role, name, kind, (*chain, here)) for role in service.needs_all}
        self._given_all[key] = needs_all
        ctx = LaunchContext(
            run_id=self.ctx.run_id,
            run_dir=self.ctx.run_dir,
            log_dir=self.ctx.log_dir,
            needs=needs,
            services=named,
            needs_all=needs_all,
            tools=self.ctx.tools,
            secrets=self.ctx.secrets,
            labels=self.ctx.labels,
            target_name=name,
        )
        if key in self._failed_services:
            raise self._failed_services[key]  # a broken provider is launched once, not once per asker
        launcher = self.launcher(kind)
        try:
            running = launcher.start(manifest, service, ctx)
        except AtcheckError as exc:
            self._failed_services[key] = exc
            raise
        self._services[key] = running
        return running

    def _provide(self, role: Role, asker: str, kind: str, chain: tuple[str, ...]) -> ServiceEndpoint:
        """An endpoint for ``role`` from another target of the run, or from a fallback provider.

        A provider that cannot start (an optional target not installed here, say) is passed over for the
        next one, so it does not take the targets that only borrow its PLC down with it; when none starts,
        the first one's error is raised.
        """
        candidates = [t for n, t in self.targets.items() if n != asker]
        for fallback in self.fallback:
            # A container target gets the fallback provider in a container too, on the run's network.
            provider = TargetSpec.of(fallback, "container" if kind == "container" else "process")
            if provider.name not in self.targets:
                candidates.append(provider)
        first_error: AtcheckError | None = None
        for other in candidates:
            if other.launcher != kind and kind != "url":
                continue
            service = other.manifest.provider(role)
            if service is not None:
                # Started by its own launcher: a URL target's provider is still a process (or container).
                try:
                    svc = self._start_service(other.name, other.manifest, service, other.launcher, chain)
                except AtcheckError as exc:
                    first_error = first_error or exc
                    continue
                return self._endpoint(svc, role)
        if first_error is not None:
            raise first_error
        raise LaunchError(f"target {asker} needs a {role.value} and no target of the run provides one")

    def _provide_all(
        self, role: Role, asker: str, kind: str, chain: tuple[str, ...]
    ) -> list[ServiceEndpoint]:
        """Every endpoint for ``role`` among the run's other targets of the same launcher kind.

        Fallback providers are not included: a relay follows the PDSes under test, not a helper. A provider
        that fails to start is left out (its own tests report why), so one broken PDS does not stop a relay.
        """
        found: list[ServiceEndpoint] = []
        for other_name, other in self.targets.items():
            if other_name == asker or other.launcher != kind or other_name in self._private:
                continue
            for service in other.manifest.services:
                if role not in service.roles:
                    continue
                try:
                    svc = self._start_service(other_name, other.manifest, service, kind, chain)
                except AtcheckError:
                    continue
                found.extend(e for e in svc.endpoints if e.role == role)
        return found

    @staticmethod
    def _endpoint(service: RunningService, role: Role) -> ServiceEndpoint:
        return next(e for e in service.endpoints if e.role == role)

    # -- stopping ----------------------------------------------------------------------------------------

    def stop_all(self) -> None:
        """Stop every service this stack started, newest first. Never raises."""
        with self._lock:
            for service in reversed(list(self._services.values())):
                with contextlib.suppress(Exception):
                    service.stop()
            self._services.clear()
            self._running.clear()

    def all_secrets(self) -> list[str]:
        """Every secret of the run: generated ones and every credential a launcher handed out."""
        return list(dict.fromkeys([*self.secrets.all(), *self.ctx.secrets]))

    def running_services(self) -> list[RunningService]:
        return list(self._services.values())


def _with_env(service: ServiceSpec, env: Mapping[str, str]) -> ServiceSpec:
    """``service`` with ``env`` added to its process and container environment."""
    if not env:
        return service
    process = replace(service.process, env={**service.process.env, **env}) if service.process else None
    container = (
        replace(service.container, env={**service.container.env, **env}) if service.container else None
    )
    return replace(service, process=process, container=container)
