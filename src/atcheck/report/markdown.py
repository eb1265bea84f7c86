"""summary.md: the run at a glance, sized for a GitHub Actions step summary.

GitHub shows ``$GITHUB_STEP_SUMMARY`` as GitHub-flavoured Markdown and refuses more than 1 MiB per step, so
this file says only what a CI reader needs first: a headline with the number of distinct MUST failures (new
and known: :mod:`atcheck.report.defects`, so one failure naming three IDs counts once); per target, how many
MUST and SHOULD requirements passed, failed, were skipped or have no test; each distinct MUST failure, grouped
by the role it is charged to, with its requirement IDs and a one-line reason; and the coverage of the
catalogue. Everything else is in report.html. When the list of failures would not fit in
:data:`SIZE_BUDGET`, it is cut and says so.

Messages come from servers under test, so they are escaped: no Markdown or HTML of theirs is rendered.
"""

from __future__ import annotations

import re

from atcheck.report.clip import first_line
from atcheck.report.defects import Defect, count, defects, headline, headline_symbol
from atcheck.report.interop import Cell, Scenario, interop_matrix
from atcheck.report.libraries import LibraryMatrix, cell_text, library_matrix
from atcheck.report.model import RunReport, Verdict, requirement_matrix
from atcheck.report.summary import Matrix, summarize

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


def render_markdown(report: RunReport, *, matrix: Matrix | None = None) -> str:
    """summary.md's text (already redacted by the caller; see :mod:`atcheck.report.writer`)."""
    if matrix is None:
        matrix = requirement_matrix(report)
    summary = summarize(report, matrix)
    shown_levels = [level for level in summary.levels if level in ("MUST", "SHOULD")] or summary.levels

    found = defects(report)
    head: list[str] = []
    verdict = f"{headline_symbol(report, found)} **{escape_md(headline(report, found))}**"
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
        head.append("| requirements | " + " | ".join(label for _, label in COLUMNS) + " |")
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
        c = count(found, target.name)
        head.append(
            f"Distinct failures: {c.must} MUST ({c.must_new} new, {c.must_known} known), {c.should} SHOULD, "
            f"{c.may} MAY. (The table counts requirements; one failing test may name several.)"
        )
        head.append("")

    head += _interop_tables(interop_matrix(report))
    head += _library_table(library_matrix(report))

    # Distinct MUST failures, per target and the role they are charged to, one line each.
    lines: list[str] = []
    for target in report.targets:
        mine = [d for d in found if d.target == target.name and d.level == "MUST"]
        if not mine:
            continue
        c = count(mine)
        state = "all known (baseline)" if not c.must_new else f"{c.must_new} new"
        lines.append(f"### MUST failures on {escape_md(target.name)}: {c.must} distinct, {state}")
        lines.append("")
        for role in sorted({d.role or "" for d in mine}):
            charged = [d for d in mine if (d.role or "") == role]
            title = f"the {escape_md(role)}" if role else "no single role"
            lines.append(f"#### charged to {title} ({len(charged)})")
            lines.append("")
            lines += [_defect_line(d) for d in charged]
            lines.append("")
    should_failed = count(found).should
    tail = []
    if should_failed:
        tail.append(f"{should_failed} distinct SHOULD failure(s) across targets; see report.html.")
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
                f"\n… {remaining} more MUST failure(s) not listed here (size limit); see report.html."
            )
            kept.append("")
            break
        kept.append(line)
        used += size
    return text + "\n" + "\n".join(kept) + "\n" + ending


def _defect_line(defect: Defect) -> str:
    """One distinct failure: the test, its IDs (the first of the strongest level in bold), cases, why."""
    ids = ", ".join(
        f"**{escape_md(i)}**" if n == 0 else escape_md(i) for n, i in enumerate(defect.requirement_ids)
    )
    cases = f" · {len(defect.cases)} cases" if len(defect.cases) > 1 else ""
    why = escape_md(first_line(defect.message, MESSAGE_CHARS))
    if defect.new_levels:
        state = "**new**"
    else:
        state = f"*known failure: {escape_md(first_line(defect.reason or '', MESSAGE_CHARS))}*"
    return f"- {_code(defect.test)} · {ids}{cases} · {state}: {why}"


#: Words of the interop cell columns (:data:`atcheck.report.interop.COLUMNS`).
INTEROP_WORDS = {"passed": "pass", "failed": "FAIL", "known": "known", "error": "error", "skipped": "skip"}


def _interop_cell(cell: Cell) -> str:
    """Counts, a failing one linking to the first such failure's evidence in report.html (same anchors)."""
    parts = []
    for column, n in cell.counts.items():
        if not n:
            continue
        text = f"{n} {INTEROP_WORDS[column]}"
        first = next((i for i in cell.results if cell.columns[i] == column), None)
        if column in ("failed", "known", "error") and first is not None:
            text = f"[{text}](report.html#f-{first})"
        parts.append(text)
    return " · ".join(parts) or "—"


def _library_table(matrix: LibraryMatrix | None) -> list[str]:
    """Libraries: requirement (row) x library (column), each cell the cases that disagreed of those judged."""
    if matrix is None or not matrix.rows:
        return []
    lines = ["### Libraries: requirement (row) x library (column), disagreeing cases of those judged", ""]
    rates = [f"{escape_md(lib)} {rate:.0f}" for lib in matrix.libraries if (rate := matrix.rate(lib))]
    if rates:
        lines += [f"Cases per second through each harness: {', '.join(rates)}.", ""]
    lines.append("| requirement | " + " | ".join(escape_md(lib) for lib in matrix.libraries) + " |")
    lines.append("|---|" + "---|" * len(matrix.libraries))
    for req_id, cells in matrix.rows.items():
        shown = " | ".join(escape_md(cell_text(cells.get(lib))) for lib in matrix.libraries)
        lines.append(f"| {escape_md(req_id)} | {shown} |")
    lines.append("")
    return lines


def _interop_tables(scenarios: list[Scenario]) -> list[str]:
    """The interop matrix, one producer (row) x consumer (column) table per scenario."""
    if not scenarios:
        return []
    lines = ["### Interop: producer (row) x consumer (column)", ""]
    for scenario in scenarios:
        lines.append(f"**{escape_md(scenario.name)}**")
        lines.append("")
        lines.append("| producer | " + " | ".join(escape_md(c) for c in scenario.consumers) + " |")
        lines.append("|---|" + "---|" * len(scenario.consumers))
        for producer in scenario.producers:
            cells = [scenario.cells.get((producer, c)) for c in scenario.consumers]
            lines.append(
                f"| {escape_md(producer)} | "
                + " | ".join(_interop_cell(cell) if cell else "—" for cell in cells)
                + " |"
            )
        lines.append("")
    return lines
