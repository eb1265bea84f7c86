"""Helpers shared by the launcher and stack self-tests: find a test's processes by their tag in /proc."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def tagged_pids(tag: Path) -> list[int]:
    """Live (non-zombie) processes whose command line holds ``tag`` as a whole argument."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(tag).encode() + b"\0" in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def wait_gone(tag: Path, within_s: float = 3.0) -> list[int]:
    """The tagged processes still alive after ``within_s`` (a killed process takes a moment to be reaped)."""
    deadline = time.monotonic() + within_s
    while (left := tagged_pids(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture
def tag(tmp_path: Path) -> Iterator[Path]:
    """A unique tag for this test's processes; whatever survives the test is killed and fails it."""
    yield tmp_path
    left = wait_gone(tmp_path)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    assert not left, f"processes left behind: {left}"
