"""Stable draws: a derandomized property test draws the same examples however the session was started.

Hypothesis's ``derandomize`` seeds a test from a digest of its source, and its generator also mixes in
*local constants*: literals it scans from every module of the project loaded so far. So the examples of
``test_generated_valid_record_round_trips[app.bsky.feed.post]`` differed between ``make run`` (suites only)
and ``make test`` (self-tests loaded first), and a server got two verdicts for one behaviour.

For a conformance test of a derandomized session this module pins both, around the test's call only:

- the seed is a digest of the test's id (its path under ``suites/``, its name, its parameters other than the
  target) and of the target's implementation name (``reference@container`` draws as ``reference``);
- the pool of local constants is empty, so what else was imported cannot change a draw;
- the example database is off, so an earlier run cannot replay its examples first.

Outside a derandomized session Hypothesis explores at random, as before. Nothing here touches self-tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as Settings
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants

from atcheck.errors import AtcheckError
from atcheck.paths import suites_dir
from atcheck.pytest_plugin.state import run_of, target_param

_SEED_ATTR = "_hypothesis_internal_use_seed"  # what ``hypothesis.seed`` sets; it outranks derandomize
_SETTINGS_ATTR = "_hypothesis_internal_use_settings"


def draw_key(item: pytest.Item) -> str | None:
    """What a conformance test's draws depend on: ``suites-relative path::name[params] @ implementation``.

    A test outside ``suites/`` (a self-test's own suite) is named from the rootdir instead. None for a test
    not run against a target.
    """
    name = target_param(item)
    run = run_of(item.config)
    if name is None or run is None:
        return None
    path = Path(str(item.path)).resolve()
    try:
        relative = path.relative_to(suites_dir().resolve())
    except (ValueError, AtcheckError):
        try:
            relative = path.relative_to(item.config.rootpath.resolve())
        except ValueError:
            relative = Path(path.name)
    target = run.targets.get(name)
    implementation = target.implementation_name if target is not None else name
    callspec = getattr(item, "callspec", None)
    params = sorted((k, repr(v)) for k, v in (callspec.params.items() if callspec else ()) if k != "target")
    function = getattr(item, "originalname", item.name)
    return f"{relative.as_posix()}::{function}{params} @ {implementation}"


def seed_of(key: str) -> int:
    """A 64-bit seed from a draw key (stable across processes, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def _empty_constants() -> Constants:
    return Constants()


@contextmanager
def pinned_draws(test: Callable[..., Any], key: str) -> Iterator[None]:
    """Run a Hypothesis ``test`` seeded from ``key``, without local constants or a database; then undo it.

    A test that is not derandomized (or not a Hypothesis test) is left alone.
    """
    current = getattr(test, _SETTINGS_ATTR, None)
    if not getattr(test, "is_hypothesis_test", False) or current is None or not current.derandomize:
        yield
        return
    old_seed = getattr(test, _SEED_ATTR, None)
    old_constants = providers._get_local_constants
    setattr(test, _SEED_ATTR, seed_of(key))
    setattr(test, _SETTINGS_ATTR, Settings(current, database=None))
    providers._get_local_constants = _empty_constants
    providers.CONSTANTS_CACHE.cache.clear()  # filtered pools computed with another module set
    try:
        yield
    finally:
        providers._get_local_constants = old_constants
        providers.CONSTANTS_CACHE.cache.clear()
        setattr(test, _SEED_ATTR, old_seed)
        setattr(test, _SETTINGS_ATTR, current)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    key = draw_key(item)
    test = getattr(item, "obj", None)
    if key is None or test is None:
        yield
        return
    with pinned_draws(test, key):
        yield
