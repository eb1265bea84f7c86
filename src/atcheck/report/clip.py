"""Shortening text for reports, saying how much was cut.

Evidence can be megabytes (a CAR dumped as text, a server that answers with its whole log); reports stay
readable and small by keeping the head of each string and stating what was dropped, never by dropping
silently. Callers redact *before* clipping (see :mod:`atcheck.report.redact`).
"""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, with a marker saying how many were dropped."""
    if len(text) <= limit:
        return text
    dropped = len(text) - limit
    return f"{text[:limit]}\n… [{dropped} more characters not shown]"


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters: a one-line message."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
