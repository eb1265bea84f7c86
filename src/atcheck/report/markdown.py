"""summary.md: the run at a glance, sized for a GitHub Actions step summary.

GitHub shows ``$GITHUB_STEP_SUMMARY`` as GitHub-flavoured Markdown and refuses more than 1 MiB per step, so
this file says only what a CI reader needs first: per target, how many MUST and SHOULD requirements passed,
failed, were skipped or have no test; which MUST requirements failed, with a one-line reason each; and the
coverage of the catalogue. Everything else is in report.html. When the list of failures would not fit in
:data:`SIZE_BUDGET`, it is cut and says so.

Messages come from servers under test, so they are escaped: no Markdown or HTML of theirs is rendered.
"""

from __future__ import annotations

import re

from atcheck.report.clip import first_line
from atcheck.report.model import Outcome, RunReport, TestResult, Verdict, requirement_matrix
from atcheck.report.summary import Matrix, known_failure, summarize

#: Bytes the file may use, well under GitHub's 1 MiB step-summary limit (other steps may append too).
SIZE_BUDGET = 900 * 1024
MESSAGE_CHARS = 200

#: Verdict columns of the per-target tables, and their headers.
COLUMNS = (
    (Verdict.PASSED, "passed"),
    (Verdict.FAILED, "failed"),
    (Verdict.ERROR, "error"),
    (Verdict.SKIPPED, "skipped"),
    (Verdict.UNTESTED, "untested"),
    (Verdict.NOT_RUN, "not run"),
)

# Control characters and lone surrogates (bytes a server sent that are not UTF-8) become a space.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Inline only (every escaped string sits mid-line), so line-start syntax (#, -, 1.) needs no escaping;
# $ starts GitHub's math, | ends a table cell.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def escape_md(text: str) -> str:
    """Inline text that renders as itself: Markdown punctuation backslashed, HTML as entities, one line."""
    text = _CONTROL.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _size(text: str) -> int:
    """Bytes ``text`` takes on disk, as :func:`atcheck.report.writer.write_atomically` encodes it."""
    return len(text.encode("utf-8", errors="backslashreplace"))


def _code(text: str) -> str:
    """An inline code span; backticks inside become quotes (a code span cannot escape them)."""
    return "`" + _CONTROL.sub(" ", text).replace("`", "'") + "`"


def _first_failure(results: list[TestResult]) -> TestResult | None:
    """The result that best explains a failed cell: a new failure before a known one, failed before error."""
    for known in (False, True):
        for outcome in (Outcome.FAILED, Outcome.ERROR):
            for result in results:
                if result.outcome == outcome and bool(known_failure(result)) == known:
                    return result
    return None


def render_markdown(report: RunReport, *, matrix: Matrix | None = None) -> str:
    """summary.md's text (already redacted by the caller; see :mod:`atcheck.report.writer`)."""
    if matrix is None:
        matrix = requirement_matrix(report)
    summary = summarize(report, matrix)
    shown_levels = [level for level in summary.levels if level in ("MUST", "SHOULD")] or summary.levels

    head: list[str] = []
    verdict = (
        "❌ **MUST requirements failed**" if summary.must_failed else "✅ **no MUST requirement failed**"
    )
    head.append(f"## atcheck: {verdict}")
    head.append("")
    head.append(
        f"Run `{escape_md(report.run_id)}` · atcheck {escape_md(report.atcheck_version)} · "
        f"{escape_md(report.started_at)} · {report.duration_s:.1f} s · coverage **{summary.tested}** of "
        f"{summary.requirements} requirements have a test ({summary.coverage:.1%})"
    )
    head.append("")

    for target, ts in zip(report.targets, summary.targets, strict=True):
        title = (
            f"### {escape_md(target.name)} ({escape_md(target.implementation)} {escape_md(target.version)}; "
            f"{escape_md(', '.join(target.roles))})"
        )
        head.append(title)
        head.append("")
        if target.status != "ran":
            head.append(f"⚪ **not run**: {escape_md(first_line(target.reason or 'no reason given', 300))}")
            head.append("")
            continue
        head.append("| level | " + " | ".join(label for _, label in COLUMNS) + " |")
        head.append("|---|" + "---:|" * len(COLUMNS))
        for level in shown_levels:
            counts = ts.verdicts[level]
            head.append(
                f"| {escape_md(level)} | " + " | ".join(str(counts[str(v)]) for v, _ in COLUMNS) + " |"
            )
        o = ts.outcomes
        head.append("")
        known = f" ({ts.known_failures} of the failures and errors are known)" if ts.known_failures else ""
        head.append(
            f"Tests: {o['passed']} passed, {o['failed']} failed, {o['error']} errors, "
            f"{o['skipped']} skipped{known}."
        )
        head.append("")

    # Failed MUST requirements, per target, one line each.
    by_cell: dict[tuple[str, str], list[TestResult]] = {}
    for result in report.results:
        if result.outcome in (Outcome.FAILED, Outcome.ERROR):
            for req_id in result.requirement_ids:
                by_cell.setdefault((req_id, result.target), []).append(result)
    lines: list[str] = []
    for target in report.targets:
        failed = [
            req
            for req in report.requirements
            if req.level == "MUST" and matrix[(req.id, target.name)] in (Verdict.FAILED, Verdict.ERROR)
        ]
        if not failed:
            continue
        lines.append(f"### Failed MUST requirements on {escape_md(target.name)} ({len(failed)})")
        lines.append("")
        for req in failed:
            verdict_word = matrix[(req.id, target.name)]
            first = _first_failure(by_cell.get((req.id, target.name), []))
            why = escape_md(first_line(first.message, MESSAGE_CHARS)) if first else ""
            test = f" ({_code(first.test_id)})" if first else ""
            known_reason = known_failure(first) if first else None
            if known_reason:
                why += f" · *known failure: {escape_md(first_line(known_reason, MESSAGE_CHARS))}*"
            lines.append(f"- **{escape_md(req.id)}** {escape_md(req.area)} · {verdict_word}{test}: {why}")
        lines.append("")
    should_failed = sum(ts.verdicts.get("SHOULD", {}).get(str(Verdict.FAILED), 0) for ts in summary.targets)
    tail = []
    if should_failed:
        tail.append(f"{should_failed} SHOULD requirement verdict(s) failed across targets; see report.html.")
    tail.append("")
    tail.append("Details, evidence and the full matrix: `report.html`; machine-readable: `report.json`.")
    tail.append("")

    text = "\n".join(head)
    ending = "\n".join(tail)
    budget = SIZE_BUDGET - _size(text) - _size(ending) - 200
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        size = _size(line) + 1
        if used + size > budget:
            remaining = sum(1 for rest in lines[i:] if rest.startswith("- "))
            kept.append(
                f"\n… {remaining} more failed requirement(s) not listed here (size limit); see report.html."
            )
            kept.append("")
            break
        kept.append(line)
        used += size
    return text + "\n" + "\n".join(kept) + "\n" + ending
