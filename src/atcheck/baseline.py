"""Known failures: a baseline that keeps CI green on known deviations without hiding them.

An implementer adopting atcheck rarely passes everything on day one; nor does arroba, one of our own default
targets. A baseline lists (target, test) pairs known to fail, with the reason, like WPT's expectation files or
Complement's blacklists. With a baseline, a listed failure still appears as *failed* in every report (the
compliance verdict is never softened) but does not fail the pytest session or ``atcheck run``; an unlisted
failure does, and so does a listed test that now passes (the baseline is stale and must shrink).

Format (TOML)::

    [[expected]]
    target = "arroba"
    test = "suites/repo/test_records.py::test_swap_commit_conflict"   # fnmatch patterns allowed
    reason = "arroba ignores swapCommit"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from atcheck.errors import UsageError


@dataclass(frozen=True)
class Expected:
    target: str
    test: str
    reason: str


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Expected, ...] = ()
    source: str = "(none)"

    def expected(self, target: str, test_id: str) -> Expected | None:
        """The entry that expects ``test_id`` to fail on ``target``, if any."""
        for entry in self.entries:
            if fnmatchcase(target, entry.target) and fnmatchcase(test_id, entry.test):
                return entry
        return None


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; every mistake is one UsageError line naming the file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read baseline: {exc}") from None
    unknown = sorted(set(data) - {"expected"})
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(unknown)}")
    raw = data.get("expected", [])
    if not isinstance(raw, list):
        raise UsageError(f"{path}: 'expected' must be an array of tables ([[expected]])")
    entries = []
    for i, item in enumerate(raw):
        where = f"{path}: expected[{i}]"
        if not isinstance(item, dict):
            raise UsageError(f"{where}: must be a table")
        extra = sorted(set(item) - {"target", "test", "reason", "requirements"})
        if extra:
            raise UsageError(f"{where}: unknown key(s) {', '.join(extra)}")
        for key in ("target", "test", "reason"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise UsageError(f"{where}: '{key}' must be a non-empty string")
        entries.append(Expected(target=item["target"], test=item["test"], reason=item["reason"]))
    return Baseline(entries=tuple(entries), source=str(path))
