"""One suite run of a selfcheck, in a process of its own: ``python -m atcheck.selfcheck.worker``.

The runner keeps the target and its proxies running in its own process and starts one worker per fault: a
fresh pytest session each time, so no module state, account cache or Hypothesis state leaks from one fault's
run into the next. What to run arrives pickled on stdin (the proxied target's credentials never touch the
disk or the process list); the worker writes the usual report into the report directory it was given.
"""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

from atcheck.targets.spec import TargetSpec


@dataclass(frozen=True)
class WorkOrder:
    """A suite run: the proxied target, the suite paths, tests to leave out, where the report goes."""

    target: TargetSpec
    paths: tuple[str, ...]
    report_dir: Path
    deselect: tuple[str, ...] = ()


def main() -> int:
    import pytest

    from atcheck.paths import project_root
    from atcheck.run_options import RunHandoff, RunOptions

    order: WorkOrder = pickle.load(sys.stdin.buffer)
    argv = [
        *order.paths,
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(project_root()),
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--tb=line",
        "-q",
        "--no-header",
    ]
    if order.deselect:
        argv += ["-k", " and ".join(f"not {name}" for name in order.deselect)]
    handoff = RunHandoff(RunOptions(targets=(order.target,), report_dir=order.report_dir))
    code = pytest.main(argv, plugins=[handoff])
    return 0 if handoff.report is not None else int(code) or 2


if __name__ == "__main__":
    sys.exit(main())
