"""Turn a service of a manifest into the values one launch uses: DID, command, env, working dir, credentials.

Every launcher renders a service the same way, here, so a placeholder means the same under each of them and
every credential, generated or given, is registered for exact-value scrubbing whatever starts the service.
What differs between launchers is only what the placeholders stand for (a port, ``{host}``, where data lives,
the URLs of needed services as the service sees them), which each passes in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from atcheck.paths import implementations_dir
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.model import Credentials, Role, ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.templating import RunSecrets, TemplateScope
from atcheck.tools import resolve_tool


@dataclass(frozen=True)
class RenderedService:
    """One launch of a service, every template filled in."""

    did: str | None
    credentials: Credentials
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None  # a service served by another one's process: where it is


def run_name(target: TargetManifest, ctx: LaunchContext) -> str:
    """The run's name of the target being launched (``reference@container``): it names logs and data dirs."""
    return ctx.target_name or target.name


def where(target: TargetManifest, service: ServiceSpec, ctx: LaunchContext) -> str:
    """How error messages name a service."""
    return f"target {run_name(target, ctx)}, service {service.name}"


def data_dir(target: TargetManifest, service: ServiceSpec, ctx: LaunchContext) -> Path:
    """The service's own folder of the run's scratch dir (absolute: containers bind-mount it)."""
    path = (ctx.run_dir / "data" / run_name(target, ctx) / service.name).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_path(target: TargetManifest, service: ServiceSpec, ctx: LaunchContext) -> Path:
    """The service's log file in the report's log dir."""
    log_dir = ctx.log_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir / f"{run_name(target, ctx)}-{service.name}.log".replace("/", "_").replace(":", "_")


def register_secrets(ctx: LaunchContext, values: Iterable[str]) -> None:
    """Add ``values`` to the run's secrets (each once): report writers scrub every one of them."""
    for value in values:
        if value and value not in ctx.secrets:
            ctx.secrets.append(value)


def render_service(
    target: TargetManifest,
    service: ServiceSpec,
    ctx: LaunchContext,
    secrets: RunSecrets,
    *,
    command: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    url: str | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    data_dir: str = "",
    needs: Mapping[Role, ServiceEndpoint] | None = None,
    services: Mapping[str, ServiceEndpoint] | None = None,
    needs_all: Mapping[Role, Sequence[ServiceEndpoint]] | None = None,
    python: str = sys.executable,
) -> RenderedService:
    """Fill in the service's templates for one launch and register its secrets with the run.

    ``needs``, ``services`` and ``needs_all`` default to the context's; a launcher whose services see other
    addresses (containers, by network alias) passes them translated.
    """
    at = where(target, service, ctx)
    scope = TemplateScope(
        port=port,
        host=host,
        data_dir=data_dir,
        log_dir=str(ctx.log_dir.resolve()),
        tools=ctx.tools,
        needs=ctx.needs if needs is None else needs,
        services=ctx.services if services is None else services,
        needs_all=ctx.needs_all if needs_all is None else needs_all,
        extra={"implementations": str(implementations_dir()), "python": python},
        secrets=secrets,
        tool_resolver=resolve_tool,
        secret_namespace=ctx.target_name,
    )
    did = scope.render(service.did, f"{at}.did") if service.did else None
    if did:
        scope.extra = {**scope.extra, "self.did": did}
    rendered = scope.render_map(service.credentials, f"{at}.credentials")
    credentials = Credentials(**{key: value for key, value in rendered.items() if value})
    result = RenderedService(
        did=did,
        credentials=credentials,
        command=[scope.render(part, f"{at}.command") for part in command],
        env=scope.render_map(env or {}, f"{at}.env"),
        cwd=scope.render(cwd, f"{at}.cwd") if cwd else None,
        url=scope.render(url, f"{at}.url").rstrip("/") if url else None,
    )
    # Every credential is a secret, generated or given: report writers scrub what ctx.secrets lists.
    register_secrets(ctx, [*secrets.all(), *credentials.secrets()])
    return result
