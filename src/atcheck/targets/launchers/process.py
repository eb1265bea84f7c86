"""The process launcher: each service a local process in its own process group, bound to 127.0.0.1.

Why a process group: the services are Node or Python programs that may fork helpers; SIGTERM to the group,
then SIGKILL after a grace period, stops them all, so a run never leaves processes behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from atcheck.errors import LaunchError, ManifestError
from atcheck.targets.launchers.base import LaunchContext, log_tail
from atcheck.targets.launchers.render import data_dir, log_path, render_service, where
from atcheck.targets.launchers.starters import StartedService, starter_for
from atcheck.targets.model import ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.ports import LOOPBACK, free_port, require_free
from atcheck.targets.readiness import wait_for_service
from atcheck.targets.templating import RunSecrets
from atcheck.tools import missing_tools

STOP_GRACE_S = 5.0


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return log_tail(text, lines)


@dataclass
class ProcessService:
    """A running process-launched service."""

    spec: ServiceSpec
    endpoints: list[ServiceEndpoint]
    process: subprocess.Popen[bytes]
    log_path: Path
    started_s: float = 0.0  # seconds from spawn to ready
    _stopped: bool = field(default=False, repr=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_summary(self) -> str:
        code = self.process.poll()
        state = "still running" if code is None else f"exit code {code}"
        return f"{state}; log {self.log_path}: {tail(self.log_path)}"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        stop_process_group(self.process)


def stop_process_group(process: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, wait, then SIGKILL it; never raises.

    Services start in a session of their own, so the group ID is the leader's PID. It must not be looked up
    with os.getpgid: once the leader has died and been reaped, the lookup fails, yet its children live on
    in the group and must still be stopped.
    """
    pgid: int | None = process.pid
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            if pgid is not None:
                os.killpg(pgid, sig)
            else:
                process.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure nothing else of the group survives it.
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        return


class ProcessLauncher:
    """Starts services as local processes (the default launcher: no Docker needed)."""

    kind = "process"

    def __init__(self, secrets: RunSecrets | None = None) -> None:
        self.secrets = secrets or RunSecrets()

    def unavailable_reason(self) -> str | None:
        return None

    def service_unavailable_reason(self, service: ServiceSpec) -> str | None:
        if service.process is None and service.url:
            return None  # served by another service of its target (see start_attached)
        if service.process is None:
            return f"service {service.name!r} has no [service.process] section"
        return missing_tools(service.process.requires)

    def start(
        self, target: TargetManifest, service: ServiceSpec, ctx: LaunchContext
    ) -> ProcessService | AttachedService | StartedService:
        at = where(target, service, ctx)
        starter = starter_for(service, at)
        if starter is not None:  # not a server (a library's harness talks over stdin/stdout): its own starter
            return starter(target, service, ctx, self.secrets)
        spec = service.process
        if spec is None and service.url:
            return self.start_attached(target, service, ctx)
        if spec is None:
            raise ManifestError(f"{at}: no [service.process] section; use another launcher")
        problem = missing_tools(spec.requires)
        if problem:
            from atcheck.errors import SetupError

            raise SetupError(f"{at}: {problem}")
        if spec.port is not None:
            require_free(spec.port, at)
        port = spec.port or free_port()
        data = data_dir(target, service, ctx)
        log = log_path(target, service, ctx)
        rendered = render_service(
            target, service, ctx, self.secrets,
            command=spec.command, env=spec.env, cwd=spec.cwd, port=port, data_dir=str(data),
        )  # fmt: skip
        command, did, credentials = rendered.command, rendered.did, rendered.credentials
        env = {
            **_base_env(),
            **rendered.env,
            # Marks every process of the run, so a self-test can prove none survives it (/proc/*/environ).
            "ATCHECK_RUN_ID": ctx.run_id,
        }
        cwd = rendered.cwd or str(data)
        with log.open("ab") as out:
            out.write(f"# atcheck: {' '.join(command)}\n".encode())
            out.flush()
            try:
                process = subprocess.Popen(
                    command,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                if not Path(cwd).is_dir():
                    raise LaunchError(f"{at}: working directory {cwd} does not exist") from None
                raise LaunchError(f"{at}: cannot run {command[0]!r}: {exc.strerror}") from None
        url = f"http://{LOOPBACK}:{port}"
        endpoints = [
            ServiceEndpoint(
                target=target.name,
                service=service.name,
                role=role,
                url=url,
                did=did,
                credentials=credentials,
            )
            for role in service.roles
        ]
        running = ProcessService(spec=service, endpoints=endpoints, process=process, log_path=log)
        started = time.monotonic()
        try:
            wait_for_service(running, url, service.health, at)
        except BaseException:
            running.stop()
            raise
        running.started_s = time.monotonic() - started
        return running

    def start_attached(
        self, target: TargetManifest, service: ServiceSpec, ctx: LaunchContext
    ) -> AttachedService:
        """A service with a ``url`` and no process: served by a service it needs (started first)."""
        at = where(target, service, ctx)
        rendered = render_service(target, service, ctx, self.secrets, url=service.url)
        url = rendered.url or ""
        endpoints = [
            ServiceEndpoint(target.name, service.name, role, url, rendered.did, rendered.credentials)
            for role in service.roles
        ]
        server = next((s for s in target.services if s.name in service.needs_services), service)
        running = AttachedService(spec=service, endpoints=endpoints, log_path=log_path(target, server, ctx))
        wait_for_service(running, url, service.health, at)
        return running


@dataclass
class AttachedService:
    """A service that another service's process serves on a port of its own (dev-env: one Node process is
    Ozone, the AppView, a PDS and a PLC). Nothing to start or stop: its ``needs`` started that process."""

    spec: ServiceSpec
    endpoints: list[ServiceEndpoint]
    log_path: Path  # the log of the service that serves it

    def alive(self) -> bool:
        return True

    def exit_summary(self) -> str:
        return f"served by another service of its target (logs: {self.log_path.parent})"

    def stop(self) -> None:
        return None


def _base_env() -> dict[str, str]:
    """The environment a service gets: ours minus proxies (traffic stays on this machine)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    return env
