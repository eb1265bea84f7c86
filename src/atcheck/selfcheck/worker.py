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

import pytest

from atcheck.targets.spec import TargetSpec


@dataclass(frozen=True)
class WorkOrder:
    """A suite run: the proxied target, the suite paths, tests to leave out, where the report goes."""

    target: TargetSpec
    paths: tuple[str, ...]
    report_dir: Path
    deselect: tuple[str, ...] = ()
    peers: tuple[TargetSpec, ...] = ()  # in the run (a relay follows them) but not judged


class JudgeOnly:
    """Deselects every test of a peer target: a selfcheck run judges only the target behind the proxies."""

    def __init__(self, peers: tuple[str, ...]) -> None:
        self.peers = set(peers)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not self.peers:
            return
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            callspec = getattr(item, "callspec", None)
            params = callspec.params if callspec is not None else {}
            (dropped if params.get("target") in self.peers else kept).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept


def main() -> int:
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
    handoff = RunHandoff(RunOptions(targets=(order.target, *order.peers), report_dir=order.report_dir))
    judge_only = JudgeOnly(tuple(p.name for p in order.peers))
    code = pytest.main(argv, plugins=[handoff, judge_only])
    return 0 if handoff.report is not None else int(code) or 2


if __name__ == "__main__":
    sys.exit(main())
