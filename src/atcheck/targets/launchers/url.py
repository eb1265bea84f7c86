"""The URL "launcher": an implementation that already runs somewhere (the CI-against-my-server case).

Nothing is started or stopped; the service is only checked to answer its health endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from atcheck.errors import ManifestError, TargetUnreachable
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.render import render_service, where
from atcheck.targets.model import ServiceEndpoint, ServiceSpec, TargetManifest
from atcheck.targets.templating import RunSecrets


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
        at = where(target, service, ctx)
        if not service.url:
            raise ManifestError(f"{at}: no url")
        url = service.url.rstrip("/")
        health = url + service.health.path
        try:
            with httpx.Client(timeout=service.health.timeout_s, trust_env=False) as client:
                response = client.get(health)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"{at}: {health} did not answer ({type(exc).__name__}: {exc})") from None
        if response.status_code >= 500:
            raise TargetUnreachable(f"{at}: {health} answered HTTP {response.status_code}")
        rendered = render_service(target, service, ctx, self.secrets)
        endpoints = [
            ServiceEndpoint(target.name, service.name, role, url, rendered.did, rendered.credentials)
            for role in service.roles
        ]
        return RemoteService(spec=service, endpoints=endpoints)
