"""Helpers shared by the launcher and stack self-tests: find a test's processes by their tag in /proc."""

from __future__ import annotations

import os
import time
from pathlib import Path


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
