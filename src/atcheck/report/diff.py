"""Compare two runs: what newly fails, what was fixed, which failures now say something else.

Implementers run atcheck on every change; the question after a run is rarely "what fails?" but "what did
*this* change break?". The diff answers it per (target, test instance), the unit a result is recorded in.

* A **regression** is a result that fails or errors in the new run and did not in the old one (it passed, was
  skipped, or did not exist). A known failure (baseline) that newly fails is still a regression here: the diff
  compares two runs, not a run with its baseline.
* A **fix** failed or errored before and passes now.
* A **changed** failure fails in both runs with a different message (or moved between failed and error).
  Messages carry values that differ on every run (DIDs, CIDs, TIDs, ports, timings), so they are compared
  with those masked; ``exact=True`` compares them as written.
* A failure that is simply **not judged** any more (skipped, or absent from the new run) is neither a fix nor
  a regression, and is listed apart so that a narrowed run does not look like a cure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atcheck.errors import UsageError
from atcheck.report.badges import must_ratios
from atcheck.report.clip import first_line
from atcheck.report.json_writer import read_report
from atcheck.report.model import Outcome, RunReport, TestResult

FAILING = (Outcome.FAILED, Outcome.ERROR)

#: Values that change from run to run, masked before failure messages are compared (order matters: longest
#: and most specific patterns first).
_VOLATILE = (
    (re.compile(r"did:plc:[a-z2-7]{24}"), "did:plc:<id>"),
    (re.compile(r"did:web:[A-Za-z0-9.%:-]+"), "did:web:<host>"),
    (re.compile(r"\bb[a-z2-7]{50,}\b"), "<cid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b(?=[a-z]*[2-7])[2-7a-z]{13}\b"), "<tid>"),
    (re.compile(r"\b[0-9a-f]{16,}\b"), "<hex>"),
    (re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\]):\d+"), "<host>:<port>"),
    (re.compile(r"\b\d+\.\d+\s*(?:s|ms)\b"), "<duration>"),
    (re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)*\.test\b"), "<handle>.test"),
)


def normalise_message(message: str) -> str:
    """``message`` with run-specific values masked, whitespace runs folded."""
    for pattern, mask in _VOLATILE:
        message = pattern.sub(mask, message)
    return " ".join(message.split())


@dataclass(frozen=True)
class Change:
    """One (target, test instance) whose result differs between the two runs."""

    target: str
    test_id: str
    old_outcome: str | None  # None: absent from that run
    new_outcome: str | None
    requirement_ids: tuple[str, ...]
    level: str
    old_message: str = ""
    new_message: str = ""
    known_failure: str | None = None  # the new run's baseline reason, if the new failure was expected

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "test_id": self.test_id,
            "old": self.old_outcome,
            "new": self.new_outcome,
            "requirement_ids": list(self.requirement_ids),
            "level": self.level,
            "old_message": self.old_message,
            "new_message": self.new_message,
            "known_failure": self.known_failure,
        }


@dataclass
class ReportDiff:
    old_run: str
    new_run: str
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    not_judged: list[Change] = field(default_factory=list)  # failed before, skipped or absent now
    #: target -> (old "passed/judged", new "passed/judged") of its MUST requirements; None: not in that run
    must: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    targets_added: list[str] = field(default_factory=list)
    targets_removed: list[str] = field(default_factory=list)

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressions)

    def to_json(self) -> dict[str, Any]:
        return {
            "old_run": self.old_run,
            "new_run": self.new_run,
            "regressions": [c.to_json() for c in self.regressions],
            "fixes": [c.to_json() for c in self.fixes],
            "changed": [c.to_json() for c in self.changed],
            "not_judged": [c.to_json() for c in self.not_judged],
            "must": {t: {"old": o, "new": n} for t, (o, n) in self.must.items()},
            "targets_added": self.targets_added,
            "targets_removed": self.targets_removed,
        }


def resolve_report_path(arg: str) -> Path:
    """A report.json path, or a run directory holding one (``reports/latest``, ``reports/<run-id>``)."""
    path = Path(arg)
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise UsageError(f"{arg}: no report.json there")
    return path


def load(arg: str) -> RunReport:
    return read_report(resolve_report_path(arg))


def _by_key(report: RunReport) -> dict[tuple[str, str], TestResult]:
    """Results by (target, test instance); should one appear twice, a failing one wins."""
    keyed: dict[tuple[str, str], TestResult] = {}
    for result in report.results:
        key = (result.target, result.test_id)
        if key not in keyed or result.outcome in FAILING:
            keyed[key] = result
    return keyed


def _change(key: tuple[str, str], old: TestResult | None, new: TestResult | None) -> Change:
    either = new or old
    assert either is not None  # a key comes from one of the runs
    return Change(
        target=key[0],
        test_id=key[1],
        old_outcome=str(old.outcome) if old else None,
        new_outcome=str(new.outcome) if new else None,
        requirement_ids=tuple(either.requirement_ids),
        level=either.level,
        old_message=first_line(old.message) if old else "",
        new_message=first_line(new.message) if new else "",
        known_failure=new.known_failure if new and new.outcome in FAILING else None,
    )


def diff_reports(old: RunReport, new: RunReport, *, exact: bool = False) -> ReportDiff:
    """What changed from ``old`` to ``new``, result by result, in ``new``'s order then ``old``'s."""
    result = ReportDiff(old_run=old.run_id, new_run=new.run_id)
    before, after = _by_key(old), _by_key(new)
    same = (lambda a, b: a == b) if exact else (lambda a, b: normalise_message(a) == normalise_message(b))
    for key in [*after, *(k for k in before if k not in after)]:
        o, n = before.get(key), after.get(key)
        was_failing = o is not None and o.outcome in FAILING
        is_failing = n is not None and n.outcome in FAILING
        if is_failing and not was_failing:
            result.regressions.append(_change(key, o, n))
        elif was_failing and n is not None and n.outcome == Outcome.PASSED:
            result.fixes.append(_change(key, o, n))
        elif was_failing and not is_failing:
            result.not_judged.append(_change(key, o, n))
        elif was_failing and is_failing:
            assert o is not None and n is not None
            if o.outcome != n.outcome or not same(o.message, n.message):
                result.changed.append(_change(key, o, n))
    old_ratios = {r.target: f"{r.passed}/{r.judged}" for r in must_ratios(old)}
    new_ratios = {r.target: f"{r.passed}/{r.judged}" for r in must_ratios(new)}
    for name in [*new_ratios, *(t for t in old_ratios if t not in new_ratios)]:
        result.must[name] = (old_ratios.get(name), new_ratios.get(name))
    result.targets_added = [t for t in new_ratios if t not in old_ratios]
    result.targets_removed = [t for t in old_ratios if t not in new_ratios]
    return result


def _lines(title: str, changes: list[Change], show_old: bool, show_new: bool) -> list[str]:
    if not changes:
        return []
    out = [f"{title} ({len(changes)}):"]
    for c in changes:
        known = f" [known failure: {c.known_failure}]" if c.known_failure else ""
        out.append(
            f"  {c.target}  {c.test_id}  {c.old_outcome or 'absent'} -> {c.new_outcome or 'absent'}"
            f"  ({c.level}: {', '.join(c.requirement_ids) or '-'}){known}"
        )
        if show_old and c.old_message:
            out.append(f"      was: {c.old_message}")
        if show_new and c.new_message:
            out.append(f"      now: {c.new_message}")
    return out


def render_text(d: ReportDiff) -> str:
    """The diff for people: MUST ratios per target, then each list; one line per result plus its messages."""
    lines = [f"atcheck report diff: {d.old_run} -> {d.new_run}"]
    for target, (o, n) in d.must.items():
        lines.append(f"  {target}: MUST passed {o or '(not in old run)'} -> {n or '(not in new run)'}")
    lines += _lines("New failures (regressions)", d.regressions, show_old=False, show_new=True)
    lines += _lines("Fixed", d.fixes, show_old=True, show_new=False)
    lines += _lines("Still failing, message changed", d.changed, show_old=True, show_new=True)
    lines += _lines("Failed before, not judged now (skipped or not run)", d.not_judged, False, False)
    if not (d.regressions or d.fixes or d.changed or d.not_judged):
        lines.append("No result changed.")
    verdict = f"{len(d.regressions)} regression(s)" if d.regressions else "no regression"
    lines.append(f"{verdict}, {len(d.fixes)} fix(es), {len(d.changed)} changed message(s)")
    return "\n".join(lines) + "\n"
