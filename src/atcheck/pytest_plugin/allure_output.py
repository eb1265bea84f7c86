"""allure-pytest beside atcheck's own reports: where its results go, its labels, and its secrets scrubbed.

allure-pytest is optional. When it is loaded, its results go into the run's report dir (unless the user
pointed it elsewhere), each test is labelled with its requirement IDs and target, and, since it writes
failure messages verbatim, its files are scrubbed of the run's secrets once everything has been written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atcheck.pytest_plugin.state import requirement_ids, run_of
from atcheck.report.redact import scrub_files
from atcheck.run import Run


def use_run_dir(config: pytest.Config, run: Run) -> None:
    """Point allure-pytest at ``<report dir>/allure-results``, unless the user chose a folder."""
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(run.report_dir / "allure-results")
        config.option.clean_alluredir = True


def label(item: pytest.Item, target_name: str) -> None:
    """Tag a running test for allure with its requirement IDs, its target and its suite."""
    try:
        import allure
    except ImportError:
        return
    try:
        dynamic: Any = allure.dynamic  # allure's API is untyped
        for req_id in requirement_ids(item):
            dynamic.tag(req_id)
        dynamic.parameter("target", target_name)
        dynamic.parent_suite(target_name)
        dynamic.suite(Path(str(item.path)).parent.name)
    except Exception:
        return


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Last of all: stop the run (if the session did not get to it) and scrub allure's files."""
    run = run_of(config)
    if run is None:
        return
    run.close()
    allure_dir = getattr(config.option, "allure_report_dir", None)
    if allure_dir and Path(allure_dir).is_dir():
        files = [p for p in Path(allure_dir).iterdir() if p.suffix in (".json", ".txt")]
        scrub_files(files, run.stack.all_secrets())
