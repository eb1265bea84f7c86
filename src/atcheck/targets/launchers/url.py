"""The URL "launcher": an implementation that already runs somewhere (the CI-against-my-server case).

Nothing is started or stopped; the service is only checked to answer its health endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from atcheck.errors import ManifestError, TargetUnreachable
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.model import Credentials, ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.templating import RunSecrets, TemplateScope


@dataclass
class RemoteService:
    spec: ServiceSpec
    endpoints: list[ServiceEndpoint]

    def alive(self) -> bool:
        return True

    def exit_summary(self) -> str:
        return "not started by atcheck"

    def stop(self) -> None:
        return None


class UrlLauncher:
    kind = "url"

    def __init__(self, secrets: RunSecrets | None = None) -> None:
        self.secrets = secrets or RunSecrets()

    def unavailable_reason(self) -> str | None:
        return None

    def start(self, target: TargetManifest, service: ServiceSpec, ctx: LaunchContext) -> RemoteService:
        where = f"target {target.name}, service {service.name}"
        if not service.url:
            raise ManifestError(f"{where}: no url")
        url = service.url.rstrip("/")
        health = url + service.health.path
        try:
            with httpx.Client(timeout=service.health.timeout_s, trust_env=False) as client:
                response = client.get(health)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                f"{where}: {health} did not answer ({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code >= 500:
            raise TargetUnreachable(f"{where}: {health} answered HTTP {response.status_code}")
        scope = TemplateScope(secrets=self.secrets, needs=ctx.needs)
        rendered = scope.render_map(service.credentials, f"{where}.credentials")
        credentials = Credentials(**{k: v for k, v in rendered.items() if v})
        ctx.secrets.extend(credentials.secrets())
        did = scope.render(service.did, f"{where}.did") if service.did else None
        endpoints = [
            ServiceEndpoint(target.name, service.name, role, url, did, credentials) for role in service.roles
        ]
        return RemoteService(spec=service, endpoints=endpoints)
