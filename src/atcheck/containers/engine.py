"""Reach the Docker engine, and say in one line why not.

testcontainers reads its settings from the environment when it is imported, so :func:`configure_environment`
must run before the first import of it. The three settings are what this machine needs (see
``shared/design/containers.md``): the engine's socket, no Ryuk (its image cannot be pulled; cleanup is ours)
and ``docker_host`` connection mode (a ``/.dockerenv`` file would otherwise route traffic via the bridge
gateway).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
ENGINE_SCRIPT = "scripts/docker-engine.sh"
START_HINT = f"start one: bash {ENGINE_SCRIPT} start"
PING_TIMEOUT_S = 5.0


def configure_environment() -> None:
    """Set the testcontainers/docker settings this machine needs, unless the user set them already."""
    os.environ.setdefault("DOCKER_HOST", DEFAULT_DOCKER_HOST)
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_HOST)


def docker_sdk() -> ModuleType:
    """The docker SDK (docker-py), imported late: a process-only run never needs it. Any: no stubs."""
    return importlib.import_module("docker")


def docker_errors() -> Any:
    return importlib.import_module("docker.errors")


def client(timeout_s: float = 120.0) -> Any:
    """A docker-py client for the configured engine (raises docker's own errors when it is not there)."""
    docker = docker_sdk()
    configure_environment()
    return docker.DockerClient(base_url=docker_host(), timeout=int(timeout_s))


def engine_problem() -> str | None:
    """None when the engine answers; else one line saying what is wrong and how to start one."""
    host = docker_host()
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return f"no Docker engine at {host} ({START_HINT})"
    try:
        docker = docker_sdk()
        errors = docker_errors()
        requests = importlib.import_module("requests")
    except ImportError as exc:
        return f"the docker Python package is missing ({exc.name}); install atcheck's dependencies"
    try:
        engine = docker.DockerClient(base_url=host, timeout=int(PING_TIMEOUT_S))
        try:
            engine.ping()
        finally:
            engine.close()
    except (errors.DockerException, requests.RequestException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the Docker engine at {host} does not answer: {first[:160]} ({START_HINT})"
    return None
