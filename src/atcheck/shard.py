"""Shards: one run split over N machines or CI jobs, by (target, suite area), the same way on every one.

A full run of every suite against every target takes long enough that a CI matrix wants to share it. The unit
of splitting is a (target, suite area) group, never a single test: a group shares the target's started
services and the suite's module fixtures (accounts, recorded streams), so splitting inside one would start
them twice. Every shard collects the same tests, so each computes the same assignment on its own, with no
coordinator: groups are dealt largest first (by test count) to the least-loaded shard, ties broken by name,
which balances the shards without any state. ``atcheck report merge`` joins the shards' reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from atcheck.errors import UsageError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

Group = tuple[str, str]  # (target run name, suite area); "" when a test has none


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    """``"I/N"`` with 1 <= I <= N, or a :class:`UsageError` saying what is wrong."""
    match = _SPEC.match(text)
    if not match:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1 or not 1 <= index <= total:
        raise UsageError(f"--shard {text}: I must be between 1 and N (N >= 1)")
    return Shard(index, total)


def assign(groups: Mapping[Group, int], total: int) -> dict[Group, int]:
    """Group -> shard index (1-based): largest groups first, each to the least-loaded shard (lowest index)."""
    load = [0] * total
    out: dict[Group, int] = {}
    for group, size in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])):
        chosen = min(range(total), key=lambda i: (load[i], i))
        load[chosen] += size
        out[group] = chosen + 1
    return out


def groups_of(keys: Iterable[Group]) -> dict[Group, int]:
    """How many tests each group has, from one key per test."""
    counts: dict[Group, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return counts
