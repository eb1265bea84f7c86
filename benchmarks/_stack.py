"""Shared by the benchmarks: start targets through the same Stack a run uses, and always stop them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atcheck.run import new_run_id
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.spec import parse_targets
from atcheck.targets.stack import RunningTarget, Stack


@contextmanager
def started(names: list[str]) -> Iterator[tuple[Stack, dict[str, RunningTarget]]]:
    """Start ``names`` (in order) in one stack; yield it and the running targets; stop everything."""
    scratch = Path(tempfile.mkdtemp(prefix="atcheck-bench-"))
    ctx = LaunchContext(run_id=new_run_id(), run_dir=scratch, log_dir=scratch / "logs")
    fallback = [m for n, m in builtin_manifests().items() if n == "reference"]
    stack = Stack(parse_targets(names).values(), ctx, fallback_providers=fallback)
    try:
        yield stack, {name: stack.start(name) for name in names}
    finally:
        stack.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


def print_start_times(names: list[str], repeat: int) -> int:
    """Start and stop each target alone, ``repeat`` times; print best/median start and median stop.

    Returns 0, or 2 (after a one-line reason) when a target cannot start here.
    """
    import statistics
    import sys
    import time

    from atcheck.errors import AtcheckError

    for name in names:
        starts: list[float] = []
        stops: list[float] = []
        for _ in range(max(1, repeat)):
            began = time.perf_counter()
            try:
                with started([name]) as (stack, _running):
                    starts.append(time.perf_counter() - began)
                    stop_began = time.perf_counter()
                    stack.stop_all()
                    stops.append(time.perf_counter() - stop_began)
            except AtcheckError as exc:
                print(f"{name}: cannot start: {exc}", file=sys.stderr)
                return 2
        print(
            f"{name:<22} start best {min(starts):6.2f} s  median {statistics.median(starts):6.2f} s  "
            f"stop median {statistics.median(stops):5.2f} s  ({len(starts)} runs)"
        )
    return 0
