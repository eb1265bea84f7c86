"""The end of a session: stop every service, write the reports, and hand the report to ``atcheck run``.

The report object is kept on the run (and on the CLI's handoff): its ``must_failed`` is the run's verdict,
which the terminal summary and the CLI's exit status both read, so it is computed in one place.
"""

from __future__ import annotations

import pytest

from atcheck.pytest_plugin.state import OPTIONS_KEY, WRITTEN_KEY, handoff_of, run_of
from atcheck.pytest_plugin.terminal import flush_progress
from atcheck.report.writer import write_reports


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run = run_of(config)
    if run is None:
        return
    flush_progress(config, run)
    run.close()
    if config.option.collectonly:
        return  # nothing ran: no report, and no reports/ directory left behind
    report = run.build_report()
    options = config.stash.get(OPTIONS_KEY, None)
    chosen_dir = options is not None and options.report_dir is not None
    latest = None if chosen_dir else run.report_dir.parent / "latest"
    config.stash[WRITTEN_KEY] = write_reports(
        report, run.report_dir, secrets=run.stack.all_secrets(), latest_link=latest
    )
    run.report = report
    handoff = handoff_of(config)
    if handoff is not None:
        handoff.report = report
