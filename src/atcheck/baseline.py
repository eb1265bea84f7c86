"""Known failures: a baseline that keeps CI green on known deviations without hiding them.

An implementer adopting atcheck rarely passes everything on day one; nor does arroba, one of our own default
targets. A baseline lists (target, test) pairs known to fail, with the reason, like WPT's expectation files or
Complement's blacklists. With a baseline, a listed failure still appears as *failed* in every report (the
compliance verdict is never softened) but does not fail the pytest session or ``atcheck run``; an unlisted
failure does, and so does a listed test that now passes (the baseline is stale and must shrink).

Format (TOML)::

    [[expected]]
    target = "arroba"
    test = "suites/repo/test_records.py::test_swap_commit_conflict"   # an exact test ID (or a list of them)
    reason = "arroba ignores swapCommit"
    cases = ["ts-uri-rfc3986 -> HTTP 400"]   # optional: the exact failure cases it excuses
    strict = false   # optional: may also pass; needs `cases`

**Exact, never a class.** An entry names exactly what it excuses, so that it cannot hide a failure it was not
written for (an earlier format took fnmatch patterns and a regex on the message; one such regex excused every
datetime leniency of a validator, and a 500 along with the 200 it was written for):

- ``test`` is an exact test ID, parameters included; wildcards are refused by the loader.
- ``cases`` lists exact *case keys*. A test whose failures vary from run to run (a property-based test
  draws different examples) names each failure's kind in its message as ``[case: KEY]`` (see
  :func:`case_tag`), the key saying both what was sent and what came back, e.g.
  ``ts-datetime-no-timezone -> HTTP 200``. An entry with ``cases`` excuses only failures carrying one of
  those keys; a failure without a key, or with another, is new.
- An entry without ``cases`` excuses a failure of its test only when that failure carries no case key. A
  failure that does carry one was drawn from a family of cases, and an entry naming none would excuse the
  whole family: the run refuses that pairing (the failure counts as new, and says why), so such an entry
  cannot pass unnoticed.
- ``strict = false`` (the test may pass: a property test need not draw the failing example) needs ``cases``.
- Two entries for the same target and test must not overlap: each failure has exactly one reason.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from atcheck.errors import UsageError

#: How a failure message names its case: ``[case: KEY]``; KEY has no brackets or newlines.
_CASE_TAG = re.compile(r"\[case: ([^\[\]\n]+)\]")
_WILDCARDS = re.compile(r"[*?]")


def case_tag(key: str) -> str:
    """The text that names a failure's case in its message (what ``cases`` entries are matched against)."""
    if not key or _CASE_TAG.fullmatch(f"[case: {key}]") is None or key != key.strip():
        raise ValueError(f"not a case key: {key!r}")
    return f"[case: {key}]"


def case_of(message: str | None) -> str | None:
    """The case key a failure message carries, or None. A message naming two different cases has none."""
    if not message:
        return None
    keys = set(_CASE_TAG.findall(message))
    return keys.pop() if len(keys) == 1 else None


@dataclass(frozen=True)
class Expected:
    target: str
    test: str
    reason: str
    strict: bool = True  # a strict entry that passes fails the run (the baseline is stale)
    cases: tuple[str, ...] = ()  # exact case keys it excuses; empty: failures that carry no case key

    def excuses(self, message: str | None) -> bool:
        """Whether this entry excuses a failure with ``message`` (None: any failure; asked for a pass)."""
        if message is None:
            return True
        case = case_of(message)
        if self.cases:
            return case in self.cases
        return case is None


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Expected, ...] = ()
    source: str = "(none)"

    def _for(self, target: str, test_id: str, implementation: str | None) -> list[Expected]:
        # ``implementation`` is the target's manifest name: ``reference@container`` runs the implementation
        # ``reference``, so it inherits reference's known failures (the container launcher must not change a
        # verdict: ``atcheck containers compare`` checks that).
        names = {target, implementation or target}
        return [e for e in self.entries if e.target in names and e.test == test_id]

    def expected(
        self, target: str, test_id: str, message: str | None = None, *, implementation: str | None = None
    ) -> Expected | None:
        """The entry that expects ``test_id`` to fail on ``target`` with ``message``, if any.

        ``message`` None means "whatever the failure" (asked when the test passed: is the entry stale?).
        """
        for entry in self._for(target, test_id, implementation):
            if entry.excuses(message):
                return entry
        return None

    def refusal(
        self, target: str, test_id: str, message: str, *, implementation: str | None = None
    ) -> str | None:
        """Why the entries for this test do not excuse this failure, when some exist; else None.

        Said in the failure, so a reader sees that the baseline knows the test but not this case.
        """
        entries = self._for(target, test_id, implementation)
        if not entries or any(e.excuses(message) for e in entries):
            return None
        case = case_of(message)
        named = sorted({c for e in entries for c in e.cases})
        if case is None:
            return f"{self.source} names cases {named} for this test, but this failure carries no case key"
        if not named:
            return (
                f"{self.source} has an entry for this test that names no cases, but this failure is case "
                f"{case!r} of a family: list the exact cases the entry excuses"
            )
        return f"{self.source} excuses cases {named} of this test, not {case!r}"


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
    entries: list[Expected] = []
    for i, item in enumerate(raw):
        entries += _parse_entry(item, f"{path}: expected[{i}]")
    _refuse_overlaps(entries, path)
    return Baseline(entries=tuple(entries), source=str(path))


def _parse_entry(item: object, where: str) -> list[Expected]:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: must be a table")
    if "match" in item:
        raise UsageError(
            f"{where}: 'match' (a regex on the message) is no longer accepted: it excused failures it was "
            "not written for; name the exact failures with 'cases'"
        )
    extra = sorted(set(item) - {"target", "test", "reason", "requirements", "strict", "cases"})
    if extra:
        raise UsageError(f"{where}: unknown key(s) {', '.join(extra)}")
    for key in ("target", "reason"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise UsageError(f"{where}: '{key}' must be a non-empty string")
    tests = item.get("test")
    tests = [tests] if isinstance(tests, str) else tests
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) and t.strip() for t in tests):
        raise UsageError(f"{where}: 'test' must be a test ID or a non-empty list of test IDs")
    for test in tests:
        if _WILDCARDS.search(test.split("[", 1)[0]) or _WILDCARDS.search(item["target"]):
            raise UsageError(
                f"{where}: {test!r} on {item['target']!r} is a pattern; name exact test IDs (parameters "
                "included), so an entry cannot excuse a test it was not written for"
            )
    strict = item.get("strict", True)
    if not isinstance(strict, bool):
        raise UsageError(f"{where}: 'strict' must be true or false")
    cases = item.get("cases", [])
    if not isinstance(cases, list) or not all(isinstance(c, str) for c in cases):
        raise UsageError(f"{where}: 'cases' must be a list of case keys")
    for case in cases:
        try:
            case_tag(case)
        except ValueError:
            raise UsageError(
                f"{where}: {case!r} is not a case key (no brackets, newlines or edge spaces)"
            ) from None
    if len(set(cases)) != len(cases):
        raise UsageError(f"{where}: 'cases' lists a case twice")
    if not strict and not cases:
        raise UsageError(
            f"{where}: an entry that may pass (strict = false) must name the failures it excuses in 'cases'"
        )
    return [
        Expected(target=item["target"], test=test, reason=item["reason"], strict=strict, cases=tuple(cases))
        for test in tests
    ]


def _refuse_overlaps(entries: list[Expected], path: Path) -> None:
    """Two entries that could excuse the same failure: the reader could not tell which reason holds."""
    seen: dict[tuple[str, str], list[Expected]] = {}
    for entry in entries:
        for other in seen.get((entry.target, entry.test), []):
            if not entry.cases or not other.cases or set(entry.cases) & set(other.cases):
                raise UsageError(
                    f"{path}: two entries excuse the same failures of {entry.test} on {entry.target}; "
                    "give each its own cases, or merge them"
                )
        seen.setdefault((entry.target, entry.test), []).append(entry)


def _toml_string(value: str) -> str:
    """A TOML basic string (json's escaping is a valid subset of TOML's)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def baseline_from_report(report: dict[str, object], targets: set[str] | None = None) -> str:
    """A baseline (TOML text) listing every failed or errored result of a report.json.

    The reason is the failure's first line; edit it into a statement of the deviation before committing,
    because the baseline is read by people deciding whether a failure is known. A failure that carries a case
    key is written with ``cases`` naming it (several failures of one test are merged into one entry).
    """
    lines = [
        "# Known failures, generated by `atcheck baseline` from run "
        f"{report.get('run_id', '?')}; edit each reason into a statement of the deviation.",
    ]
    results = report.get("results", [])
    assert isinstance(results, list)
    order: list[tuple[str, str]] = []
    first: dict[tuple[str, str], str] = {}
    cases: dict[tuple[str, str], list[str]] = {}
    for result in results:
        if not isinstance(result, dict) or result.get("outcome") not in ("failed", "error"):
            continue
        target, test = str(result.get("target")), str(result.get("test_id"))
        if targets and target not in targets:
            continue
        raw = str(result.get("message") or result.get("outcome"))
        key = (target, test)
        if key not in first:
            order.append(key)
            first[key] = raw.strip().splitlines()[0][:200]
            cases[key] = []
        case = case_of(raw)
        if case is not None and case not in cases[key]:
            cases[key].append(case)
    for target, test in order:
        lines += [
            "",
            "[[expected]]",
            f"target = {_toml_string(target)}",
            f"test = {_toml_string(test)}",
            f"reason = {_toml_string(first[(target, test)])}",
        ]
        if cases[(target, test)]:
            lines.append(f"cases = [{', '.join(_toml_string(c) for c in cases[(target, test)])}]")
    return "\n".join(lines) + "\n"
