"""What the plugin's modules share: where a session keeps its run, and how to read a test's markers.

Everything lives in ``config.stash`` (or ``item.stash``), never in module globals, so two sessions in one
process (``pytest.main`` called twice, pytester) cannot see each other's state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck.accounts import AccountFactory
from atcheck.report.model import TestResult
from atcheck.run import Run
from atcheck.run_options import RunHandoff, RunOptions
from atcheck.suite.target import TargetUnderTest

RUN_KEY = pytest.StashKey[Run]()
OPTIONS_KEY = pytest.StashKey[RunOptions]()
WRITTEN_KEY = pytest.StashKey[dict[str, Path]]()  # report kind -> file written
FACTORIES_KEY = pytest.StashKey[dict[str, AccountFactory]]()  # target name -> its account factory
TARGETS_KEY = pytest.StashKey[dict[str, TargetUnderTest]]()  # target name -> the one TargetUnderTest
RESULT_KEY = pytest.StashKey[TestResult]()  # on an item: the result recorded for it


def run_of(config: pytest.Config) -> Run | None:
    """The atcheck run of a pytest session, if it runs conformance suites."""
    return config.stash.get(RUN_KEY, None)


def handoff_of(config: pytest.Config) -> RunHandoff | None:
    """The options ``atcheck run`` handed this session, if it started it."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, RunHandoff):
            return plugin
    return None


def requirement_ids(item: pytest.Item) -> list[str]:
    """The catalogue IDs a test names with ``@pytest.mark.requirement``."""
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids.extend(str(a) for a in mark.args)
    return ids


def target_param(item: pytest.Item) -> str | None:
    """The name of the target a test item runs against, if it is parametrized over targets."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    value = callspec.params.get("target")
    # A str, or pytest's NOTSET when no target of the run applies (the item is then skipped, unrecorded).
    return value if isinstance(value, str) else None
