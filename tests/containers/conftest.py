"""Fixtures for the container self-tests: an engine and the base image, or a skip saying what is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atcheck.containers import engine
from atcheck.targets.launchers.base import LaunchContext


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = engine.engine_problem()
    if problem:
        pytest.skip(f"no Docker engine: {problem}")


@pytest.fixture(scope="session")
def base_image(docker_engine: None) -> str:
    from atcheck.containers import builder

    tag = builder.base_tag()
    if not builder.image_exists(tag):
        pytest.skip(f"base image {tag} is not built (run `atcheck containers build base`)")
    return tag


@pytest.fixture
def launch_ctx(tmp_path: Path) -> Iterator[LaunchContext]:
    run_id = f"selftest-{tmp_path.name[-12:]}".replace("_", "-")
    ctx = LaunchContext(
        run_id=run_id,
        run_dir=tmp_path / "run",
        log_dir=tmp_path / "logs",
        labels={"org.atcheck.run": run_id},
    )
    yield ctx
    # Whatever a test did, nothing of its run may remain.
    from atcheck.containers import cleanup

    client = engine.client()
    try:
        cleanup.remove_resources(client, run_id=run_id)
    finally:
        client.close()
