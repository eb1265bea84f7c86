"""The container launcher: each service a container (testcontainers), on a private network of the run.

It uses the same manifest as the process launcher, read from ``[service.container]``. What it does that a
process launch does not:

* **One network per run.** Containers of the run reach each other by alias (``<target>-<service>``), so a
  PDS reaches its PLC by name; this is also what federation (a relay crawling PDS host names) builds on.
* **Two URLs per service.** Suites on the host use ``http://127.0.0.1:<published port>``; containers use
  ``http://<alias>:<port>``. Placeholders such as ``{plc.url}`` in a container's env therefore render with the
  container-side URL of the needed service: the launcher hands the templating scope endpoints whose URLs it
  translated (it knows both URLs of every service it started).
* **Same port inside and outside** when the service is told its port (``{port}`` in its command or env): the
  published host port and the container port are then equal, so URLs a service makes of itself (a PDS's
  ``http://localhost:<port>`` in DID documents) are valid from the host too, as with the process launcher.
* **Paths as on the host.** atcheck's images hold the host's trees at the host's paths (see
  :mod:`atcheck.containers.recipes`), so ``{tool:...}`` and ``{implementations}`` render as for a process;
  ``{data_dir}`` is a bind mount of the run's data dir (at ``data_dir`` from the manifest, else at the host
  path), ``{log_dir}`` a bind mount of the report's log dir, ``{host}`` is ``0.0.0.0`` (publishing needs it;
  the published port is bound to 127.0.0.1 only).
* **Cleanup is ours** (no Ryuk): labels on every container and network, removal on stop, at interpreter exit,
  and of dead runs' leftovers before the first start (:mod:`atcheck.containers.cleanup`).
"""

from __future__ import annotations

import atexit
import contextlib
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from atcheck.containers import cleanup, engine
from atcheck.containers.recipes import BASE_REPOSITORY, recipe_for_image
from atcheck.errors import LaunchError, ManifestError, SetupError
from atcheck.targets.launchers.base import LaunchContext, log_tail
from atcheck.targets.launchers.render import data_dir, log_path, render_service, run_name, where
from atcheck.targets.model import ContainerSpec, Role, ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.ports import LOOPBACK, free_port
from atcheck.targets.readiness import wait_for_service
from atcheck.targets.templating import RunSecrets

K = TypeVar("K", Role, str, int)  # needed endpoints by role, by service name, or by position (needs_all)

STOP_TIMEOUT_S = 3
LOG_TAIL_LINES = 15
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def alias_for(target: str, service: str) -> str:
    """A DNS-safe network alias for a service: ``reference-plc``."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", f"{target}-{service}".lower()).strip("-")
    return cleaned[:63] or "service"


def uses_port_placeholder(spec: ContainerSpec) -> bool:
    templates = [*(spec.command or ()), *spec.env.values()]
    return any("{port}" in t for t in templates)


@dataclass
class ContainerService:
    """A running container-launched service."""

    spec: ServiceSpec
    endpoints: list[ServiceEndpoint]
    container: Any  # testcontainers.core.container.DockerContainer
    log_path: Path
    alias: str
    internal_url: str
    on_stop: Any = None  # the launcher's bookkeeping, called once after removal
    started_s: float = 0.0
    _log_thread: threading.Thread | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def _wrapped(self) -> Any:
        return self.container.get_wrapped_container()

    def alive(self) -> bool:
        try:
            wrapped = self._wrapped()
            wrapped.reload()
            return bool(wrapped.status == "running")
        except Exception:  # the engine lost it: not alive, whatever the reason
            return False

    def exit_summary(self) -> str:
        try:
            wrapped = self._wrapped()
            wrapped.reload()
            state = wrapped.attrs.get("State", {})
            status = f"container {state.get('Status', '?')}, exit code {state.get('ExitCode', '?')}"
            if state.get("OOMKilled"):
                status += " (out of memory)"
            logs = wrapped.logs(tail=50).decode("utf-8", errors="replace")
        except Exception as exc:
            return f"container gone ({type(exc).__name__}); log {self.log_path}"
        return f"{status}; log {self.log_path}: {log_tail(logs, LOG_TAIL_LINES)}"

    def follow_logs(self) -> None:
        """Copy the container's output into ``log_path`` as it comes (a thread ending with the container)."""

        def pump() -> None:
            with contextlib.suppress(Exception), self.log_path.open("ab") as log:
                for chunk in self._wrapped().logs(stream=True, follow=True):
                    log.write(chunk)
                    log.flush()

        self._log_thread = threading.Thread(target=pump, name=f"logs-{self.alias}", daemon=True)
        self._log_thread.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            self._wrapped().stop(timeout=STOP_TIMEOUT_S)
        if self._log_thread is not None:
            self._log_thread.join(timeout=2.0)
        with contextlib.suppress(Exception):
            self.container.stop(force=True, delete_volume=True)
        if self.on_stop is not None:
            with contextlib.suppress(Exception):
                self.on_stop(self)


class ContainerLauncher:
    """Starts services as containers on a per-run Docker network."""

    kind = "container"

    def __init__(self, secrets: RunSecrets | None = None) -> None:
        engine.configure_environment()  # before testcontainers is imported anywhere
        self.secrets = secrets or RunSecrets()
        self._lock = threading.RLock()
        self._network: Any = None  # testcontainers Network
        self._services: list[ContainerService] = []
        self._internal_urls: dict[str, str] = {}  # host-side URL -> container-side URL
        self._aliases: set[str] = set()
        self._swept = False
        atexit.register(self.close)

    # -- availability ------------------------------------------------------------------------------------

    def unavailable_reason(self) -> str | None:
        return engine.engine_problem()

    def service_unavailable_reason(self, service: ServiceSpec) -> str | None:
        if service.container is None:
            return f"service {service.name!r} has no [service.container] section"
        try:
            resolve_image(service.container.image)
        except SetupError as exc:
            return str(exc)
        return None

    # -- starting ----------------------------------------------------------------------------------------

    def start(self, target: TargetManifest, service: ServiceSpec, ctx: LaunchContext) -> ContainerService:
        spec = service.container
        at = where(target, service, ctx)
        if spec is None:
            raise ManifestError(f"{at}: no [service.container] section; use another launcher")
        image = resolve_image(spec.image)
        with self._lock:
            ownership_labels = cleanup.ownership_labels({cleanup.LABEL_RUN: ctx.run_id, **ctx.labels})
            self._sweep_stale()
            network = self._ensure_network(ownership_labels)
            alias = self._unique_alias(alias_for(target.name, service.name))
        try:
            host_port = free_port()
            inner_port = host_port if uses_port_placeholder(spec) else spec.port
            host_data = data_dir(target, service, ctx)
            log = log_path(target, service, ctx)
            data_mount = spec.data_dir or str(host_data)
            rendered = render_service(
                target, service, ctx, self.secrets,
                command=spec.command or (), env=spec.env, port=inner_port,
                host="0.0.0.0",  # inside the container; the published port is bound to 127.0.0.1 on the host
                data_dir=data_mount, needs=self.container_side(ctx.needs, at),
                services=self.container_side(ctx.services, at),
                needs_all={
                    role: list(self.container_side(dict(enumerate(every)), at).values())
                    for role, every in ctx.needs_all.items()
                },
                python="python3",
            )  # fmt: skip
            command, did, credentials = rendered.command or None, rendered.did, rendered.credentials
            env = {
                "NO_PROXY": "*",
                "no_proxy": "*",
                # The run network's host names (this service's, and those started before it): a wrapper that
                # only talks to "this machine" may accept them too, as they are containers on this machine.
                "ATCHECK_RUN_HOSTS": ",".join(sorted(self._aliases)),
                **rendered.env,
            }

            from testcontainers.core.container import DockerContainer

            container = DockerContainer(image)
            if command:
                container.with_command(command)
            container.with_envs(**env)
            published: Any = (LOOPBACK, host_port)  # 127.0.0.1 only, never all interfaces
            container.ports[f"{inner_port}/tcp"] = published
            container.with_network(network).with_network_aliases(alias)
            container.with_volume_mapping(str(host_data), data_mount, "rw")
            container.with_volume_mapping(str(log.parent), str(log.parent), "rw")
            run_id = re.sub(r"[^A-Za-z0-9_.-]", "-", ctx.run_id)
            container.with_name(f"atcheck-{run_id}-{alias}")
            container.with_kwargs(
                labels={
                    **ownership_labels,
                    "org.atcheck.target": run_name(target, ctx),
                    "org.atcheck.service": service.name,
                },
                init=True,  # Node as PID 1 would ignore SIGTERM
                working_dir=data_mount,
            )
            url = f"http://{LOOPBACK}:{host_port}"
            internal_url = f"http://{alias}:{inner_port}"
            endpoints = [
                ServiceEndpoint(target.name, service.name, role, url, did, credentials)
                for role in service.roles
            ]
            running = ContainerService(
                spec=service,
                endpoints=endpoints,
                container=container,
                log_path=log,
                alias=alias,
                internal_url=internal_url,
                on_stop=self._forget,
            )
            with log.open("ab") as out:
                shown = " ".join(command) if command else "(image default command)"
                out.write(f"# atcheck: {image} {shown}\n# host {url}, network {internal_url}\n".encode())
            with self._lock:
                self._services.append(running)
                self._internal_urls[url] = internal_url
        except BaseException:
            self._abandon(alias)  # nothing started: give back the alias, and the network if unused
            raise
        started = time.monotonic()
        try:
            try:
                container.start()
            except Exception as exc:
                raise LaunchError(f"{at}: the engine could not start {image}: {_first_line(exc)}") from None
            running.follow_logs()
            wait_for_service(running, url, service.health, at, min_interval_s=0.2)
        except BaseException:
            running.stop()
            raise
        running.started_s = time.monotonic() - started
        return running

    def container_side(self, needs: Mapping[K, ServiceEndpoint], at: str) -> dict[K, ServiceEndpoint]:
        """The needed endpoints as a container sees them: by network alias instead of a host port."""
        translated: dict[K, ServiceEndpoint] = {}
        for role, endpoint in needs.items():
            internal = self._internal_urls.get(endpoint.url)
            if internal is not None:
                translated[role] = replace(endpoint, url=internal)
            elif urlsplit(endpoint.url).hostname in _LOOPBACK_HOSTS:
                raise LaunchError(
                    f"{at}: needs {role} at {endpoint.url}, which a container cannot reach "
                    "(only services started by the container launcher are on the run's network)"
                )
            else:
                translated[role] = endpoint
        return translated

    # -- the run's network and bookkeeping ---------------------------------------------------------------

    def _sweep_stale(self) -> None:
        """Once per launcher: remove what runs whose process is gone left behind."""
        if self._swept:
            return
        self._swept = True
        client = engine.client()
        try:
            cleanup.remove_resources(client, stale_only=True)
        finally:
            client.close()

    def _ensure_network(self, labels: dict[str, str]) -> Any:
        if self._network is None:
            from testcontainers.core.network import Network

            network = Network(docker_network_kw={"labels": labels, "driver": "bridge"})
            network.name = f"atcheck-{labels.get(cleanup.LABEL_RUN, 'run')}-{network.name[:8]}"
            try:
                network.create()
            except Exception as exc:
                raise LaunchError(f"cannot create the run's Docker network: {_first_line(exc)}") from None
            self._network = network
        return self._network

    def _unique_alias(self, alias: str) -> str:
        candidate, n = alias, 1
        while candidate in self._aliases:
            n += 1
            candidate = f"{alias}-{n}"
        self._aliases.add(candidate)
        return candidate

    def _abandon(self, alias: str) -> None:
        """Undo what :meth:`start` reserved for a service that never got a container."""
        with self._lock:
            self._aliases.discard(alias)
            if not self._services and self._network is not None:
                network, self._network = self._network, None
                with contextlib.suppress(Exception):
                    network.remove()

    def _forget(self, service: ContainerService) -> None:
        """After a service's removal: drop its URLs, and the network with the last service."""
        with self._lock:
            if service in self._services:
                self._services.remove(service)
            self._aliases.discard(service.alias)
            self._internal_urls = {h: i for h, i in self._internal_urls.items() if i != service.internal_url}
            if not self._services and self._network is not None:
                network, self._network = self._network, None
                with contextlib.suppress(Exception):
                    network.remove()

    def close(self) -> None:
        """Stop every service this launcher started and remove the run's network. Never raises."""
        with self._lock:
            services = list(self._services)
        for service in reversed(services):
            service.stop()
        with self._lock:
            if self._network is not None:
                network, self._network = self._network, None
                with contextlib.suppress(Exception):
                    network.remove()


def resolve_image(image: str) -> str:
    """The tag to run for a manifest's ``image``.

    An image of ours named without a tag (``atcheck/reference``) means "the build for the inputs installed
    now"; anything else is used as written. Either must exist locally: nothing can be pulled here.
    """
    from atcheck.containers import builder

    recipe = recipe_for_image(image)
    if image == BASE_REPOSITORY:
        tag = builder.base_tag()
    else:
        tag = builder.image_tag(recipe) if recipe is not None else image
    build_hint = (
        f"run `atcheck containers build {recipe.name if recipe else 'base'}` "
        "or `bash scripts/build-images.sh`"
        if recipe is not None or image == BASE_REPOSITORY
        else "build or load it first; no registry is reachable"
    )
    try:
        exists = builder.image_exists(tag)
    except Exception as exc:
        raise SetupError(f"cannot ask the Docker engine about {tag}: {_first_line(exc)}") from None
    if not exists:
        raise SetupError(f"image {tag} is not built", hint=build_hint)
    return tag


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
