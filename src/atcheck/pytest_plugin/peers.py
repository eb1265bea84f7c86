"""Which other implementations a test exercised (``results[].peers``), and which way (``mark.interop``).

Peers are read from the values of the fixtures the test used (directly or through another fixture): any
:class:`~atcheck.suite.target.TargetUnderTest` other than the target under test (``peer``, ``twin``) and any
:class:`~atcheck.suite.upstreams.Upstream` (``upstreams``), alone or in a list. So a new fixture that hands
out another target is picked up without a change here.

A fixture cannot know the direction of a test (in a migration the target gives and the twin takes; in
federation the upstreams give and the relay takes), so a test declares it, naming the fixtures on each side::

    @pytest.mark.interop("migration", producer="target", consumer="twin")

The names resolve to run names when the result is built; when a fixture never produced a value (the test was
skipped before it ran), the result has no direction and stays out of the interop matrix.
"""

from __future__ import annotations

from typing import Any

import pytest

from atcheck.report.model import Interop
from atcheck.suite.target import TargetUnderTest
from atcheck.suite.upstreams import Upstream

MARKER = "interop"
_SIDES = ("producer", "consumer")


def _names(value: Any) -> list[str]:
    """The run names a fixture value stands for (none when it is not a target or a list of them)."""
    if isinstance(value, TargetUnderTest):
        return [value.name]
    if isinstance(value, Upstream):
        return [value.name]
    if isinstance(value, list | tuple):
        return [name for v in value if isinstance(v, TargetUnderTest | Upstream) for name in _names(v)]
    return []


def _funcargs(item: pytest.Item) -> dict[str, Any]:
    funcargs = getattr(item, "funcargs", None)
    return funcargs if isinstance(funcargs, dict) else {}


def peers_of(item: pytest.Item, target: str) -> list[str]:
    """Run names of every other target the test's fixtures handed it, in fixture order, each once."""
    found: dict[str, None] = {}
    for value in _funcargs(item).values():
        for name in _names(value):
            if name != target:
                found[name] = None
    return list(found)


def marker_problem(item: pytest.Item) -> str | None:
    """What is wrong with a test's ``interop`` marker, if anything (checked at collection).

    Only the closest marker counts: one on a function overrides a module's ``pytestmark`` default.
    """
    mark = item.get_closest_marker(MARKER)
    if mark is None:
        return None
    if len(mark.args) != 1 or not isinstance(mark.args[0], str) or not mark.args[0]:
        return "@pytest.mark.interop takes one scenario name, e.g. interop('migration', ...)"
    if set(mark.kwargs) != set(_SIDES):
        return "@pytest.mark.interop needs exactly producer= and consumer= (fixture names)"
    fixturenames = getattr(item, "fixturenames", [])
    for side in _SIDES:
        name = mark.kwargs[side]
        if not isinstance(name, str) or name not in fixturenames:
            return f"@pytest.mark.interop {side}={name!r} is not a fixture this test uses"
    return None


def interop_of(item: pytest.Item) -> Interop | None:
    """The test's declared direction, its fixture names resolved to run names.

    None without a marker, or when a side resolved to nothing (the test stopped before that fixture ran).
    """
    mark = item.get_closest_marker(MARKER)
    if mark is None or marker_problem(item) is not None:
        return None
    funcargs = _funcargs(item)
    producers = _names(funcargs.get(mark.kwargs["producer"]))
    consumers = _names(funcargs.get(mark.kwargs["consumer"]))
    if not producers or not consumers:
        return None
    return Interop(scenario=str(mark.args[0]), producers=producers, consumers=consumers)
