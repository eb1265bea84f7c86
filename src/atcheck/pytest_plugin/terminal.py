"""What a person (or a CI log) reads while and after a run: one progress line per target and suite, then a
summary per target and the headline of the report the session wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atcheck.errors import AtcheckError
from atcheck.paths import suites_dir
from atcheck.pytest_plugin.state import WRITTEN_KEY, run_of
from atcheck.report.defects import headline
from atcheck.report.model import TestResult
from atcheck.run import Run


def _suite_area(item: pytest.Item) -> str:
    try:
        return Path(str(item.path)).resolve().relative_to(suites_dir().resolve()).parts[0]
    except (ValueError, AtcheckError, IndexError):
        return Path(str(item.path)).parent.name


def progress(item: pytest.Item, run: Run, result: TestResult) -> None:
    """Count a result; a line per (target, suite) is written when the next group starts."""
    group = (result.target, _suite_area(item))
    if run.progress_group != group:
        flush_progress(item.config, run)
        run.progress_group = group
        run.progress_counts = {}
    run.progress_counts[result.outcome.value] = run.progress_counts.get(result.outcome.value, 0) + 1


def flush_progress(config: pytest.Config, run: Run) -> None:
    """Write the progress line of the group that just completed."""
    if run.progress_group is None or not run.progress_counts:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    target, area = run.progress_group
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(run.progress_counts.items()))
    writer = getattr(reporter, "_tw", None)  # pytest's progress dots do not end their line
    if writer is not None and getattr(writer, "width_of_current_line", False):
        reporter.write("\n")
    reporter.write_line(f"[{target}] {area}: {counts}")
    run.progress_counts = {}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = run_of(config)
    if run is None:
        return
    tr = terminalreporter
    tr.section("atcheck")
    for name in run.targets:
        counts: dict[str, int] = {}
        for result in run.results:
            if result.target == name:
                counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
        failure = run.stack.failure(name)
        line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no results"
        started = run.stack.start_times.get(name)
        start_note = f" (started in {started:.1f} s)" if started is not None else ""
        tr.write_line(f"{name}{start_note}: {line}" + (f" -- did not start: {failure}" if failure else ""))
    files = config.stash.get(WRITTEN_KEY, None)
    if run.report is not None and files is not None:
        # Distinct failures, new and known: the same sentence as summary.md.
        tr.write_line(f"{headline(run.report)}; reports in {run.report_dir}")
        for kind, path in sorted(files.items()):
            tr.write_line(f"  {kind}: {path}")
