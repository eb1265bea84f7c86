"""Wait until a service answers its health check, watching that it is still alive."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from atcheck.errors import LaunchError

if TYPE_CHECKING:
    from atcheck.targets.launchers.base import RunningService
    from atcheck.targets.model import HealthCheck


def wait_until_healthy(
    url: str,
    *,
    timeout_s: float,
    interval_s: float,
    alive: Callable[[], bool],
    describe_death: Callable[[], str],
    what: str,
) -> float:
    """Poll ``url`` until it answers below HTTP 500; return the seconds it took.

    Raises LaunchError as soon as ``alive()`` turns false (with ``describe_death()``), or after ``timeout_s``.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    last_problem = "no answer yet"
    with httpx.Client(timeout=httpx.Timeout(2.0), trust_env=False) as client:
        while True:
            if not alive():
                raise LaunchError(f"{what} exited before it was ready: {describe_death()}")
            try:
                response = client.get(url)
                if response.status_code < 500:
                    return time.monotonic() - started
                last_problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_problem = type(exc).__name__
            if time.monotonic() >= deadline:
                raise LaunchError(
                    f"{what} was not ready within {timeout_s:g} s "
                    f"(health check {url}: {last_problem}); {describe_death()}"
                )
            time.sleep(interval_s)


def wait_for_service(
    service: RunningService, base_url: str, health: HealthCheck, what: str, *, min_interval_s: float = 0.0
) -> float:
    """:func:`wait_until_healthy` for a started service: its health path, watching ``service.alive()``."""
    return wait_until_healthy(
        base_url + health.path,
        timeout_s=health.timeout_s,
        interval_s=max(health.interval_s, min_interval_s),
        alive=service.alive,
        describe_death=service.exit_summary,
        what=what,
    )
