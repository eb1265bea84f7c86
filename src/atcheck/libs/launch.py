"""Start a library harness as a target's service (role ``lib``), under the process launcher.

A library is not a server: it has no port and no health URL. Its service in the manifest is a
``[service.process]`` command like any other (templates, tools it ``requires``), but the process launcher
hands it here: the harness is started with pipes, and its answer to ``start`` is the readiness check. The
endpoint's URL is ``harness:<target>`` (nothing connects to it); suites reach the harness through
:func:`harness_of`.

The launcher is in the targets layer, below this one, and does not import it: importing this module
registers :func:`start_harness` as the starter of role ``lib``
(:mod:`atcheck.targets.launchers.starters`). :mod:`atcheck.run` imports it, so every run has it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from atcheck.errors import SetupError
from atcheck.libs.harness import Harness, base_env, open_log
from atcheck.targets.launchers.base import LaunchContext, log_tail
from atcheck.targets.launchers.render import data_dir, log_path, render_service, run_name, where
from atcheck.targets.launchers.starters import register_starter
from atcheck.targets.model import Role, ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.templating import RunSecrets
from atcheck.tools import missing_tools

#: The manifest's env may set these to tune the harness's timeouts (seconds).
START_TIMEOUT_ENV = "ATCHECK_HARNESS_START_TIMEOUT"
REQUEST_TIMEOUT_ENV = "ATCHECK_HARNESS_REQUEST_TIMEOUT"


#: Every harness started in this process, by endpoint URL: how suites reach a target's harness.
_RUNNING: dict[str, HarnessService] = {}


@dataclass
class HarnessService:
    """A running library harness, as the stack keeps it (a :class:`RunningService`)."""

    spec: ServiceSpec
    endpoints: list[ServiceEndpoint]
    harness: Harness
    log_path: Path
    start: Callable[[], Harness] = field(repr=False, default=lambda: _no_restart())
    restarts: int = 0
    _stopped: bool = field(default=False, repr=False)

    def restart(self) -> Harness:
        """A fresh harness in place of one that died (a library that crashed on one input): the next test
        gets a working harness, and the one that broke it says which input it was."""
        self.harness.close()
        self.harness = self.start()
        self.restarts += 1
        return self.harness

    def alive(self) -> bool:
        return self.harness.alive()

    def exit_summary(self) -> str:
        code = self.harness.process.poll()
        state = "still running" if code is None else f"exit code {code}"
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        return f"{state}; log {self.log_path}: {log_tail(text)}"

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.harness.close()


def start_harness(
    target: TargetManifest, service: ServiceSpec, ctx: LaunchContext, secrets: RunSecrets
) -> HarnessService:
    """Start ``service``'s harness and wait for its ``start`` answer, or raise a one-line error."""
    spec = service.process
    at = where(target, service, ctx)
    if spec is None:
        raise SetupError(f"{at}: a library target needs a [service.process] section (its harness command)")
    problem = missing_tools(spec.requires)
    if problem:
        raise SetupError(f"{at}: {problem}")
    data = data_dir(target, service, ctx)
    log = log_path(target, service, ctx)
    rendered = render_service(
        target, service, ctx, secrets, command=spec.command, env=spec.env, cwd=spec.cwd, data_dir=str(data)
    )
    env = {**base_env(), **rendered.env, "ATCHECK_RUN_ID": ctx.run_id}
    start_s = float(env.get(START_TIMEOUT_ENV) or 60)
    request_s = float(env.get(REQUEST_TIMEOUT_ENV) or 10)
    name = run_name(target, ctx)

    def start() -> Harness:
        with open_log(log) as stderr:
            stderr.write(f"# atcheck: {' '.join(rendered.command)}\n".encode())
            stderr.flush()
            return Harness(
                rendered.command,
                name=name,
                env=env,
                cwd=rendered.cwd or str(data),
                stderr=stderr,
                start_timeout_s=start_s,
                request_timeout_s=request_s,
            )

    endpoint = ServiceEndpoint(target=target.name, service=service.name, role=Role.LIB, url=f"harness:{name}")
    running = HarnessService(spec=service, endpoints=[endpoint], harness=start(), log_path=log, start=start)
    _RUNNING[endpoint.url] = running
    return running


def harness_of(endpoint: ServiceEndpoint) -> HarnessService:
    """The running harness behind a library target's endpoint (as the stack started it)."""
    found = _RUNNING.get(endpoint.url)
    if found is None:
        raise SetupError(f"no harness runs for {endpoint.url}")
    return found


def _no_restart() -> Harness:
    raise SetupError("this harness cannot be restarted")


register_starter(Role.LIB, start_harness)
