"""Shared by the benchmarks: start targets through the same Stack a run uses, and always stop them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atcheck.run import new_run_id, resolve_targets
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.stack import RunningTarget, Stack


@contextmanager
def started(names: list[str]) -> Iterator[tuple[Stack, dict[str, RunningTarget]]]:
    """Start ``names`` (in order) in one stack; yield it and the running targets; stop everything."""
    scratch = Path(tempfile.mkdtemp(prefix="atcheck-bench-"))
    ctx = LaunchContext(run_id=new_run_id(), run_dir=scratch, log_dir=scratch / "logs")
    fallback = {n: m for n, m in builtin_manifests().items() if n == "reference"}
    stack = Stack(resolve_targets(names), ctx, fallback_providers=fallback)
    try:
        yield stack, {name: stack.start(name) for name in names}
    finally:
        stack.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)
