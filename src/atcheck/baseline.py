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
    strict = false   # optional: may also pass (a property-based test need not draw the failing example)
    match = "InvalidSwap"   # optional regex: only failures whose message it finds are known

``match`` is what keeps a property-based suite honest: which example it draws may vary, so its entry names
the kinds of failure that are known, and any other failure of the same test is still new.
"""

from __future__ import annotations

import re
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
    strict: bool = True  # a strict entry that passes fails the run (the baseline is stale)
    match: str | None = None  # a regex the failure message must contain, or None for any failure


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Expected, ...] = ()
    source: str = "(none)"

    def expected(self, target: str, test_id: str, message: str | None = None) -> Expected | None:
        """The entry that expects ``test_id`` to fail on ``target`` (with ``message``), if any.

        ``message`` None means "whatever the failure": entries with a ``match`` pattern still apply.

        ``NAME@container`` is the same implementation as ``NAME``, so it inherits NAME's known failures
        (the container launcher must not change a verdict: ``atcheck containers compare`` checks that).
        """
        names = {target, target.removesuffix("@container")}
        for entry in self.entries:
            if not any(name == entry.target or fnmatchcase(name, entry.target) for name in names):
                continue
            # Exact first: test IDs carry parameters in brackets, which fnmatch would read as a character set.
            if not (test_id == entry.test or fnmatchcase(test_id, entry.test)):
                continue
            if entry.match is not None and message is not None and not re.search(entry.match, message):
                continue
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
        extra = sorted(set(item) - {"target", "test", "reason", "requirements", "strict", "match"})
        if extra:
            raise UsageError(f"{where}: unknown key(s) {', '.join(extra)}")
        for key in ("target", "test", "reason"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise UsageError(f"{where}: '{key}' must be a non-empty string")
        strict = item.get("strict", True)
        if not isinstance(strict, bool):
            raise UsageError(f"{where}: 'strict' must be true or false")
        match = item.get("match")
        if match is not None:
            if not isinstance(match, str) or not match:
                raise UsageError(f"{where}: 'match' must be a non-empty regular expression")
            try:
                re.compile(match)
            except re.error as exc:
                raise UsageError(f"{where}: 'match' is not a regular expression: {exc}") from None
        entries.append(
            Expected(
                target=item["target"], test=item["test"], reason=item["reason"], strict=strict, match=match
            )
        )
    return Baseline(entries=tuple(entries), source=str(path))


def _toml_string(value: str) -> str:
    """A TOML basic string (json's escaping is a valid subset of TOML's)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def baseline_from_report(report: dict[str, object], targets: set[str] | None = None) -> str:
    """A baseline (TOML text) listing every failed or errored result of a report.json.

    The reason is the failure's first line; edit it into a statement of the deviation before committing,
    because the baseline is read by people deciding whether a failure is known.
    """
    lines = [
        "# Known failures, generated by `atcheck baseline` from run "
        f"{report.get('run_id', '?')}; edit each reason into a statement of the deviation.",
    ]
    results = report.get("results", [])
    assert isinstance(results, list)
    seen: set[tuple[str, str]] = set()
    for result in results:
        if not isinstance(result, dict) or result.get("outcome") not in ("failed", "error"):
            continue
        target, test = str(result.get("target")), str(result.get("test_id"))
        if (targets and target not in targets) or (target, test) in seen:
            continue
        seen.add((target, test))
        message = str(result.get("message") or result.get("outcome")).strip().splitlines()[0][:200]
        lines += [
            "",
            "[[expected]]",
            f"target = {_toml_string(target)}",
            f"test = {_toml_string(test)}",
            f"reason = {_toml_string(message)}",
        ]
    return "\n".join(lines) + "\n"
