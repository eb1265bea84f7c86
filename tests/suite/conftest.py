"""What the suite self-tests share: a real reference stack (PDS and PLC), started once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.tools import missing_tools


@pytest.fixture(scope="module")
def reference_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, RunningTarget]]:
    """The reference target started in a stack of its own (skipped where it is not installed); stopped after
    the module, pass or fail. Self-tests put their fault proxies in front of it."""
    problem = missing_tools(("node22", "reference_dir"))
    if problem:
        pytest.skip(f"reference target not installed: {problem}")
    root = tmp_path_factory.mktemp("reference-stack")
    ctx = LaunchContext(run_id="selftest", run_dir=root / "run", log_dir=root / "logs")
    stack = Stack([TargetSpec.of(builtin_manifests()["reference"])], ctx)
    try:
        yield stack, stack.start("reference")
    finally:
        stack.stop_all()
