"""report.html: one self-contained page a person reads to see how implementations fare, offline.

Why it looks the way it does:

* **One file, no network.** CSS and the little JS are inline; a Content-Security-Policy forbids every fetch
  and allows only *this* page's own script and style (by hash), so even an escaping bug could not run a
  hostile server's ``<script>``. Every string from the model is escaped anyway: servers under test send
  garbage.
* **Readable without JS.** Rows expand with ``<details>``; the area / level / verdict filters are radio
  buttons driven by CSS ``:has()``. The script only adds counts, "expand all" and a fallback for browsers
  without ``:has()``.
* **Colour is never alone.** Every verdict cell carries a symbol and a word.
* **Evidence is one click away.** A failed or errored cell links to the first failing test's evidence
  (message, then the HTTP exchanges, clipped); the requirement's expanded row lists every test per target.
* **Fast.** Plain string building with precomputed indexes: a 394 x 5 matrix with thousands of results renders
  in well under a second; evidence is clipped so the file stays a few MB at most.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from atcheck.report.clip import clip, first_line
from atcheck.report.coverage import AreaCoverage, area_coverage
from atcheck.report.defects import count, defects, headline, headline_symbol
from atcheck.report.interop import Cell, Scenario, interop_matrix
from atcheck.report.libraries import LibraryMatrix, cell_text, library_matrix
from atcheck.report.model import (
    Exchange,
    Outcome,
    RequirementInfo,
    RunReport,
    TestResult,
    Verdict,
    requirement_matrix,
)
from atcheck.report.summary import OUTCOME_ORDER, VERDICT_ORDER, Matrix, Summary, known_failure, summarize

#: Limits that keep the page small whatever the servers sent (the full text is in report.json).
MESSAGE_LIMIT = 8_000
BODY_LIMIT = 4_000
HEADER_VALUE_LIMIT = 300
EXCHANGES_SHOWN = 6  # the last ones: the request that failed comes last, setup requests first
STATEMENT_SHORT = 140
SKIP_REASONS_SHOWN = 30

VERDICT_LABEL: dict[str, tuple[str, str]] = {
    Verdict.PASSED: ("✓", "pass"),
    Verdict.FAILED: ("✗", "FAIL"),
    Verdict.ERROR: ("⚠", "error"),
    Verdict.SKIPPED: ("↷", "skip"),
    Verdict.UNTESTED: ("?", "untested"),
    Verdict.NOT_RUN: ("○", "not run"),
}
OUTCOME_LABEL: dict[str, tuple[str, str]] = {
    Outcome.PASSED: ("✓", "pass"),
    Outcome.FAILED: ("✗", "FAIL"),
    Outcome.ERROR: ("⚠", "error"),
    Outcome.SKIPPED: ("↷", "skip"),
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _e(text: object) -> str:
    """Escape for HTML text and quoted attributes; control characters become visible ``\\xNN``."""
    s = str(text)
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
    return html.escape(s, quote=True)


def _anchor(prefix: str, raw: str, taken: set[str]) -> str:
    """A unique, safe fragment ID derived from ``raw`` (readable when ``raw`` is a plain requirement ID)."""
    base = f"{prefix}-{_ANCHOR_UNSAFE.sub('_', raw)[:80]}"
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}~{n}"
    taken.add(anchor)
    return anchor


def _pretty_body(body: str) -> str:
    """JSON bodies re-indented (they usually come compact); anything else as is."""
    stripped = body.lstrip()
    if stripped[:1] in ("{", "[") and len(body) <= 200_000:
        try:
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            return body
    return body


@dataclass
class _Index:
    """Lookups computed once so that rendering is linear in the size of the report."""

    matrix: Matrix
    summary: Summary
    req_anchor: dict[str, str]
    fail_anchor: dict[int, str]  # result index -> anchor of its evidence section
    cell_failures: dict[tuple[str, str], list[int]]  # (requirement, target) -> failing result indexes
    by_test_target: dict[tuple[str, str], int]  # (test_id, target) -> result index
    tests_of_req: dict[str, list[str]]  # the catalogue's tests (their instances), then any other naming it


def _index(report: RunReport, matrix: Matrix) -> _Index:
    taken: set[str] = set()
    req_anchor = {req.id: _anchor("req", req.id, taken) for req in report.requirements}
    fail_anchor: dict[int, str] = {}
    cell_failures: dict[tuple[str, str], list[int]] = {}
    by_test_target: dict[tuple[str, str], int] = {}
    # The catalogue names test functions; results are per instance ("test_x[GET]"): list the instances.
    instances: dict[str, dict[str, None]] = {}
    for result in report.results:
        instances.setdefault(result.test_id.split("[", 1)[0], {})[result.test_id] = None
    tests_of_req: dict[str, list[str]] = {}
    for req in report.requirements:
        listed: dict[str, None] = {}
        for test in req.tests:
            listed.update(instances.get(test) or {test: None})
        tests_of_req[req.id] = list(listed)
    seen_tests = {req_id: set(tests) for req_id, tests in tests_of_req.items()}
    for i, result in enumerate(report.results):
        by_test_target.setdefault((result.test_id, result.target), i)
        if result.outcome in (Outcome.FAILED, Outcome.ERROR):
            fail_anchor[i] = f"f-{i}"
            for req_id in result.requirement_ids:
                cell_failures.setdefault((req_id, result.target), []).append(i)
        for req_id in result.requirement_ids:  # a result naming a requirement the catalogue does not link
            if req_id in seen_tests and result.test_id not in seen_tests[req_id]:
                seen_tests[req_id].add(result.test_id)
                tests_of_req[req_id].append(result.test_id)
    for failing in cell_failures.values():  # a failed cell links to a new failure before a known one
        failing.sort(key=lambda i: bool(known_failure(report.results[i])))
    return _Index(
        matrix=matrix,
        summary=summarize(report, matrix),
        req_anchor=req_anchor,
        fail_anchor=fail_anchor,
        cell_failures=cell_failures,
        by_test_target=by_test_target,
        tests_of_req=tests_of_req,
    )


# -- pieces -------------------------------------------------------------------------------------------------


def _chip(kind: str, label: tuple[str, str], title: str, href: str | None = None, count: str = "") -> str:
    symbol, word = label
    inner = f'<span aria-hidden="true">{symbol}</span> {_e(word)}{count}'
    cls = f"v v-{_e(kind)}"
    if href:
        return f'<a class="{cls}" href="#{_e(href)}" title="{_e(title)}">{inner}</a>'
    return f'<span class="{cls}" title="{_e(title)}">{inner}</span>'


def _verdict_counts(counts: dict[str, int]) -> str:
    parts = []
    for verdict in VERDICT_ORDER:
        n = counts.get(str(verdict), 0)
        if n:
            parts.append(_chip(verdict, VERDICT_LABEL[verdict], f"{n} {verdict}", count=f" {n}"))
    return " ".join(parts) or '<span class="muted">none</span>'


def _outcome_counts(counts: dict[str, int]) -> str:
    parts = []
    for outcome in OUTCOME_ORDER:
        n = counts.get(str(outcome), 0)
        if n:
            parts.append(_chip(outcome, OUTCOME_LABEL[outcome], f"{n} {outcome}", count=f" {n}"))
    return " ".join(parts) or '<span class="muted">no results</span>'


def _header(report: RunReport, index: _Index) -> str:
    s = index.summary
    found = defects(report)
    cls = "bad" if count(found).must_new else "good" if not count(found).must else "warn"
    verdict = f'<strong class="{cls}">{headline_symbol(report, found)} {_e(headline(report, found))}</strong>'
    env = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in sorted(report.environment.items()))
    env_block = (
        f"<details><summary>Environment</summary><table class='kv'>{env}</table></details>" if env else ""
    )
    return (
        f"<header><h1>atcheck compliance report</h1>"
        f"<p class='meta'>run <code>{_e(report.run_id)}</code> · atcheck {_e(report.atcheck_version)} · "
        f"{_e(report.started_at)} → {_e(report.finished_at)} ({report.duration_s:.1f} s)</p>"
        f"<p>{verdict} · coverage: <strong>{s.tested}</strong> of {s.requirements} requirements "
        f"({s.coverage:.1%}) have at least one test</p>{env_block}</header>"
    )


def _targets(report: RunReport, index: _Index) -> str:
    levels = index.summary.levels
    head = "".join(f"<th>{_e(level)} requirements</th>" for level in levels)
    rows = []
    for target, ts in zip(report.targets, index.summary.targets, strict=True):
        if target.status == "ran":
            status = '<span class="v v-passed">ran</span>'
        else:
            status = (
                f'<span class="v v-not-run"><span aria-hidden="true">○</span> not run</span>'
                f'<div class="reason">{_e(target.reason or "no reason given")}</div>'
            )
        caps = ", ".join(target.capabilities)
        caps_html = f'<div class="muted small">supports: {_e(caps)}</div>' if caps else ""
        cells = "".join(f"<td>{_verdict_counts(ts.verdicts[level])}</td>" for level in levels)
        rows.append(
            f"<tr><th scope='row'>{_e(target.name)}{caps_html}</th>"
            f"<td>{_e(target.implementation)}</td><td>{_e(target.version)}</td>"
            f"<td>{_e(', '.join(target.roles))}</td><td>{_e(target.launcher)}</td><td>{status}</td>"
            f"<td>{_outcome_counts(ts.outcomes)}</td>{cells}</tr>"
        )
    return (
        "<section id='targets'><h2>Targets</h2><div class='scroll'><table class='targets'><thead><tr>"
        "<th>Target</th><th>Implementation</th><th>Version</th><th>Roles</th><th>Launcher</th>"
        f"<th>Status</th><th>Test results</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</div></section>"
    )


def _filters(areas: list[str], levels: list[str]) -> str:
    def group(name: str, legend: str, options: Iterable[tuple[str, str]]) -> str:
        radios = [f'<label><input type="radio" name="{name}" id="{name}-all" checked> all</label>']
        radios += [
            f'<label><input type="radio" name="{name}" id="{name}-{key}"> {_e(text)}</label>'
            for key, text in options
        ]
        return f"<fieldset><legend>{legend}</legend>{''.join(radios)}</fieldset>"

    verdicts = [(str(i), f"{VERDICT_LABEL[v][0]} {VERDICT_LABEL[v][1]}") for i, v in enumerate(VERDICT_ORDER)]
    return (
        "<form class='filters' id='filters' aria-label='Filter the matrix'>"
        + group("fa", "Area", ((str(i), a) for i, a in enumerate(areas)))
        + group("fl", "Level", ((str(i), lv) for i, lv in enumerate(levels)))
        + group("fv", "Verdict on any target", verdicts)
        + "<fieldset><legend>Untested</legend><label><input type='checkbox' id='hide-untested'> hide "
        "requirements no test checks</label></fieldset>"
        + "<p class='count' id='count' aria-live='polite'></p></form>"
    )


def _filter_css(n_areas: int, n_levels: int) -> str:
    rules = [f"#matrix:has(#fa-{i}:checked) .req:not(.a-{i})" for i in range(n_areas)]
    rules += [f"#matrix:has(#fl-{i}:checked) .req:not(.l-{i})" for i in range(n_levels)]
    rules += [f"#matrix:has(#fv-{i}:checked) .req:not(.v-{i})" for i in range(len(VERDICT_ORDER))]
    rules.append("#matrix:has(#hide-untested:checked) .req.untested")
    return ",\n".join(rules) + "{display:none}\n" if rules else ""


def _tests_block(req: RequirementInfo, report: RunReport, index: _Index) -> str:
    tests = index.tests_of_req.get(req.id, [])
    if not tests:
        return "<p class='muted'>No test checks this requirement yet.</p>"
    head = "".join(f"<th>{_e(t.name)}</th>" for t in report.targets)
    rows = []
    for test_id in tests:
        cells = []
        for target in report.targets:
            i = index.by_test_target.get((test_id, target.name))
            if i is None:
                cells.append(f"<td>{_chip('not-run', ('○', 'not run'), f'{target.name}: did not run')}</td>")
                continue
            result = report.results[i]
            title = f"{target.name}: {result.outcome}"
            if known_failure(result):
                title += " (known failure)"
            if result.outcome == Outcome.SKIPPED and result.message:
                title += f" ({first_line(result.message)})"
            chip = _chip(result.outcome, OUTCOME_LABEL[result.outcome], title, index.fail_anchor.get(i))
            cells.append(f"<td>{chip}</td>")
        rows.append(f"<tr><th scope='row'><code>{_e(test_id)}</code></th>{''.join(cells)}</tr>")
    return (
        f"<div class='scroll'><table class='tests'><thead><tr><th>Test</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _spec_ref(ref: str, url: str | None = None) -> str:
    if url and re.match(r"https://[^\s\"'<>]+$", url):
        return f'<a href="{_e(url)}" rel="noreferrer noopener">{_e(ref)}</a>'
    if re.match(r"https?://[^\s\"'<>]+$", ref):
        return f'<a href="{_e(ref)}" rel="noreferrer noopener">{_e(ref)}</a>'
    return _e(ref)


def _matrix(report: RunReport, index: _Index) -> str:
    areas = sorted({req.area for req in report.requirements})
    area_idx = {a: i for i, a in enumerate(areas)}
    level_idx = {lv: i for i, lv in enumerate(index.summary.levels)}
    verdict_idx = {v: i for i, v in enumerate(VERDICT_ORDER)}
    head_cells = "".join(f"<span class='tc' title='{_e(t.name)}'>{_e(t.name)}</span>" for t in report.targets)
    rows = []
    for req in report.requirements:
        verdicts_here: set[int] = set()
        cells = []
        for target in report.targets:
            verdict = index.matrix[(req.id, target.name)]
            verdicts_here.add(verdict_idx[verdict])
            failures = index.cell_failures.get((req.id, target.name), [])
            title = f"{req.id} on {target.name}: {verdict}"
            href = None
            label = VERDICT_LABEL[verdict]
            if verdict in (Verdict.FAILED, Verdict.ERROR) and failures:
                href = index.fail_anchor[failures[0]]
                title += f" ({len(failures)} failing test{'s' if len(failures) != 1 else ''}; see evidence)"
                if all(known_failure(report.results[i]) for i in failures):
                    label = (label[0], f"{label[1]} (known)")
                    title += "; every one a known failure"
            cells.append(f"<span class='tc'>{_chip(verdict, label, title, href)}</span>")
        classes = " ".join(
            ["req", f"a-{area_idx[req.area]}", f"l-{level_idx[req.level]}"]
            + [f"v-{i}" for i in sorted(verdicts_here)]
            + (["untested"] if not index.tests_of_req.get(req.id) else [])
        )
        deviations = (
            "<h4>Deviations</h4><ul>" + "".join(f"<li>{_e(d)}</li>" for d in req.deviations) + "</ul>"
            if req.deviations
            else ""
        )
        applies = f"<p><b>Applies to:</b> {_e(', '.join(req.applies_to))}</p>" if req.applies_to else ""
        rows.append(
            f"<details class='{classes}' id='{index.req_anchor[req.id]}'><summary class='row'>"
            f"<span class='id'><code>{_e(req.id)}</code></span><span class='lv'>{_e(req.level)}</span>"
            f"<span class='ar'>{_e(req.area)}</span>"
            f"<span class='st'>{_e(first_line(req.statement, STATEMENT_SHORT))}</span>"
            f"{''.join(cells)}</summary><div class='body'>"
            f"<p class='statement'>{_e(req.statement)}</p>"
            f"<p><b>Spec:</b> {_spec_ref(req.spec_ref, req.spec_url)}</p>"
            f"{applies}{deviations}<h4>Tests</h4>{_tests_block(req, report, index)}</div></details>"
        )
    legend = " ".join(_chip(v, VERDICT_LABEL[v], str(v)) for v in VERDICT_ORDER)
    return (
        "<section id='matrix'><h2>Requirements &times; targets</h2>"
        f"{_filters(areas, index.summary.levels)}"
        f"<p class='legend'>Legend: {legend}. <span class='muted'>untested: no test names the requirement; "
        "not run: tests exist but none ran on that target. Click a row for its statement, spec reference, "
        "deviations and tests; click a failed cell for its evidence.</span></p>"
        "<div class='grid'><div class='row head'><span class='id'>Requirement</span><span class='lv'>Level"
        f"</span><span class='ar'>Area</span><span class='st'>Statement</span>{head_cells}</div>"
        f"{''.join(rows)}</div></section>"
    )


#: Bar segments of the per-area section, in order: (verdict, fill colour). Colours repeat the chips'.
_BAR_SEGMENTS = (
    (Verdict.PASSED, "#2da44e"),
    (Verdict.FAILED, "#cf222e"),
    (Verdict.ERROR, "#8250df"),
    (Verdict.SKIPPED, "#afb8c1"),
    (Verdict.NOT_RUN, "#eaeef2"),
    (Verdict.UNTESTED, "#ffffff"),
)
_BAR_WIDTH = 160


def _bar(parts: list[tuple[int, str, str]], total: int) -> str:
    """A horizontal stacked bar as inline SVG (the page's CSP allows no style attributes; SVG needs none)."""
    x = 0.0
    rects = []
    for n, fill, title in parts:
        if not n or not total:
            continue
        w = _BAR_WIDTH * n / total
        rects.append(
            f"<rect x='{x:.1f}' width='{w:.1f}' height='12' fill='{fill}'><title>{_e(title)}</title></rect>"
        )
        x += w
    return (
        f"<svg class='bar' width='{_BAR_WIDTH}' height='12' role='img' aria-hidden='true'>{''.join(rects)}"
        f"<rect width='{_BAR_WIDTH}' height='12' fill='none' stroke='#afb8c1'/></svg>"  # the frame, on top
    )


def _area_row(area: AreaCoverage, report: RunReport) -> str:
    tested = _bar([(area.tested, "#0969da", f"{area.tested} tested")], area.requirements)
    cells = []
    for target in report.targets:
        counts = area.verdicts.get(target.name, {})
        parts = [(counts.get(str(v), 0), fill, f"{counts.get(str(v), 0)} {v}") for v, fill in _BAR_SEGMENTS]
        passed = counts.get(str(Verdict.PASSED), 0)
        judged = passed + counts.get(str(Verdict.FAILED), 0) + counts.get(str(Verdict.ERROR), 0)
        text = f"{passed}/{judged} passed" if judged else "none judged"
        cells.append(f"<td>{_bar(parts, area.requirements)} <span class='small'>{_e(text)}</span></td>")
    return (
        f"<tr class='area'><th scope='row'>{_e(area.area)}</th><td>{tested} <span class='small'>"
        f"{area.tested}/{area.requirements} ({area.ratio:.0%})</span></td>{''.join(cells)}</tr>"
    )


def _coverage(report: RunReport, index: _Index) -> str:
    """Per area: the share of requirements with a test, and per target the verdicts of the area."""
    areas = area_coverage(report, index.matrix)
    if not areas:
        return ""
    head = "".join(f"<th scope='col'>{_e(t.name)}</th>" for t in report.targets)
    legend = " ".join(_chip(v, VERDICT_LABEL[v], str(v)) for v, _ in _BAR_SEGMENTS)
    return (
        "<section id='coverage'><h2>Coverage by area</h2><p class='muted'>Tested: the share of the area's "
        "catalogue requirements that at least one test names. Per target, each bar splits the area's "
        f"requirements by verdict ({legend}); the figure counts passes among the judged ones.</p>"
        "<div class='scroll'><table class='targets coverage'><thead><tr><th>Area</th><th>Tested</th>"
        f"{head}</tr></thead><tbody>{''.join(_area_row(a, report) for a in areas)}</tbody></table></div>"
        "</section>"
    )


#: How each interop cell column is shown: (chip class, (symbol, word)).
INTEROP_LABEL: dict[str, tuple[str, tuple[str, str]]] = {
    "passed": ("passed", ("✓", "pass")),
    "failed": ("failed", ("✗", "FAIL")),
    "known": ("known", ("✗", "known")),
    "error": ("error", ("⚠", "error")),
    "skipped": ("skipped", ("↷", "skip")),
}


def _interop_cell(cell: Cell, report: RunReport, index: _Index) -> str:
    """Counts as chips (a failing chip links to its first failure), then every result of the cell."""
    chips = []
    for column, n in cell.counts.items():
        if not n:
            continue
        kind, label = INTEROP_LABEL[column]
        first = next((i for i in cell.results if cell.columns[i] == column), None)
        href = index.fail_anchor.get(first) if first is not None and column != "passed" else None
        chips.append(_chip(kind, label, f"{n} {column}", href=href, count=f" {n}"))
    items = []
    for i in cell.results:
        result = report.results[i]
        kind, label = INTEROP_LABEL[cell.columns[i]]
        anchor = index.fail_anchor.get(i) if cell.columns[i] != "passed" else None
        chip = _chip(kind, label, cell.columns[i], href=anchor)
        where = f"<span class='muted'>on {_e(result.target)}</span>"
        items.append(f"<li>{chip} <code>{_e(result.test_id)}</code> {where}</li>")
    listing = (
        f"<details><summary>{len(cell.results)} result(s)</summary>"
        f"<ul class='small'>{''.join(items)}</ul></details>"
    )
    return f"<td class='ic ic-{_e(cell.worst)}'>{' '.join(chips)}{listing}</td>"


def _interop(report: RunReport, index: _Index, scenarios: list[Scenario]) -> str:
    """Per scenario, producers (rows) x consumers (columns); empty when no result declares a direction."""
    if not scenarios:
        return ""
    blocks = []
    for scenario in scenarios:
        head = "".join(f"<th scope='col'>{_e(c)}</th>" for c in scenario.consumers)
        rows = []
        for producer in scenario.producers:
            cells = []
            for consumer in scenario.consumers:
                cell = scenario.cells.get((producer, consumer))
                cells.append(_interop_cell(cell, report, index) if cell else "<td class='muted'>—</td>")
            rows.append(f"<tr><th scope='row'>{_e(producer)}</th>{''.join(cells)}</tr>")
        blocks.append(
            f"<h3>{_e(scenario.name)}</h3><div class='scroll'><table class='targets interop'><thead><tr>"
            f"<th>producer &darr; / consumer &rarr;</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table></div>"
        )
    return (
        "<section id='interop'><h2>Interop matrix</h2><p class='muted'>Tests between two implementations, "
        "per scenario: the producer (row) made what the consumer (column) took in. Each cell counts the "
        "results of that pair; <i>known</i> is a failure the baseline expects. A failing chip links to the "
        f"failure's evidence.</p>{''.join(blocks)}</section>"
    )


def _libraries(matrix: LibraryMatrix | None) -> str:
    """Libraries: requirement x library, each cell the disagreeing cases of those judged; the cell's title
    holds the start of its message (the inputs are in the failure's message and evidence below)."""
    if matrix is None or not matrix.rows:
        return ""
    head = "".join(f"<th>{_e(lib)}</th>" for lib in matrix.libraries)
    rates = ", ".join(f"{_e(lib)} {rate:.0f}" for lib in matrix.libraries if (rate := matrix.rate(lib)))
    rows = []
    for req_id, cells in matrix.rows.items():
        tds = []
        for lib in matrix.libraries:
            cell = cells.get(lib)
            kind = (
                {"passed": "pass", "failed": "fail", "error": "error"}.get(cell.outcome, "skip")
                if cell
                else "na"
            )
            title = _e(cell.message[:600]) if cell else ""
            tds.append(f"<td class='lib-{kind}' title='{title}'>{_e(cell_text(cell))}</td>")
        rows.append(f"<tr><th>{_e(req_id)}</th>{''.join(tds)}</tr>")
    return (
        "<section id='libraries'><h2>Libraries</h2><p class='muted'>Requirement x library: the cases each "
        "library answered differently from atcheck's oracle, of those it answered (✓: all agree). "
        f"Cases per second through each harness: {rates or 'not measured'}.</p>"
        f"<div class='scroll'><table class='targets'><thead><tr><th>requirement</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _headers_table(headers: dict[str, str]) -> str:
    if not headers:
        return ""
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(clip(v, HEADER_VALUE_LIMIT))}</td></tr>" for k, v in headers.items()
    )
    return f"<table class='kv hdrs'>{rows}</table>"


def _exchange(n: int, ex: Exchange) -> str:
    status = "no response" if ex.status is None else str(ex.status)
    bad = ex.status is None or ex.status >= 400
    parts = [
        f"<details class='ex' open><summary><b>#{n}</b> <code>{_e(ex.method)} {_e(ex.url)}</code> → "
        f"<span class='{'bad' if bad else 'good'}'>{_e(status)}</span></summary>"
    ]
    parts.append("<div class='half'><h5>Request</h5>" + _headers_table(ex.request_headers))
    if ex.request_body:
        parts.append(f"<pre>{_e(clip(_pretty_body(ex.request_body), BODY_LIMIT))}</pre>")
    parts.append("</div><div class='half'><h5>Response</h5>" + _headers_table(ex.response_headers))
    if ex.response_body:
        parts.append(f"<pre>{_e(clip(_pretty_body(ex.response_body), BODY_LIMIT))}</pre>")
    parts.append("</div></details>")
    return "".join(parts)


def _failure(i: int, result: TestResult, index: _Index) -> str:
    reqs = ", ".join(
        f"<a href='#{index.req_anchor[r]}'>{_e(r)}</a>" if r in index.req_anchor else _e(r)
        for r in result.requirement_ids
    )
    meta = [f"{result.duration_s:.2f} s"]
    if result.seed:
        meta.append(f"seed <code>{_e(result.seed)}</code>")
    evidence = result.evidence
    shown = evidence[-EXCHANGES_SHOWN:]
    first_n = len(evidence) - len(shown)
    omitted = (
        f"<p class='muted'>{first_n} earlier exchange(s) not shown (all are in report.json).</p>"
        if first_n
        else ""
    )
    exchanges = "".join(_exchange(first_n + k + 1, ex) for k, ex in enumerate(shown))
    chip = _chip(result.outcome, OUTCOME_LABEL[result.outcome], str(result.outcome))
    known = known_failure(result)
    known_html = f"<p class='known'><b>Known failure</b> (baseline): {_e(known)}</p>" if known else ""
    role = f" ({_e(result.role)})" if result.role else ""
    return (
        f"<article class='failure' id='{index.fail_anchor[i]}'><h4>{chip} <code>{_e(result.test_id)}</code>"
        f"</h4><p class='small'>target <b>{_e(result.target)}</b>{role} · {_e(result.level)} · requirements: "
        f"{reqs or '—'} · {' · '.join(meta)}</p>{known_html}"
        f"<pre class='msg'>{_e(clip(result.message, MESSAGE_LIMIT)) or '(no message)'}</pre>"
        f"{omitted}{exchanges}</article>"
    )


def _defects(report: RunReport, index: _Index) -> str:
    """One row per distinct failure (a failing test, its cases folded), per target and the role charged."""
    found = defects(report)
    if not found:
        return ""
    blocks = []
    for target in report.targets:
        mine = [d for d in found if d.target == target.name]
        if not mine:
            continue
        c = count(mine)
        blocks.append(
            f"<h3>{_e(target.name)}: {c.must} MUST ({c.must_new} new), {c.should} SHOULD, {c.may} MAY</h3>"
        )
        for role in sorted({d.role or "" for d in mine}):
            rows = []
            for d in (d for d in mine if (d.role or "") == role):
                ids = ", ".join(
                    f"<a href='#{index.req_anchor[r]}'>{_e(r)}</a>" if r in index.req_anchor else _e(r)
                    for r in d.requirement_ids
                )
                state = "<b class='bad'>new</b>" if d.new_levels else "known"
                rows.append(
                    f"<tr><td><code>{_e(d.test)}</code></td><td>{_e(d.level)}</td><td>{ids}</td>"
                    f"<td>{len(d.cases)}</td><td>{state}</td></tr>"
                )
            title = f"charged to the {_e(role)}" if role else "no single role"
            blocks.append(
                f"<h4>{title} ({len(rows)})</h4><div class='scroll'><table class='targets'><thead><tr>"
                "<th>test</th><th>level</th><th>requirements</th><th>cases</th><th>baseline</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></div>"
            )
    return (
        "<section id='defects'><h2>Distinct failures</h2><p class='muted'>One failing test is one failure, "
        "however many cases failed and however many requirements they name; the headline counts these."
        f"</p>{''.join(blocks)}</section>"
    )


def _failures(report: RunReport, index: _Index) -> str:
    by_target: dict[str, list[int]] = {}
    for i in index.fail_anchor:
        by_target.setdefault(report.results[i].target, []).append(i)
    if not by_target:
        return "<section id='failures'><h2>Failures</h2><p>No test failed or errored.</p></section>"
    blocks = []
    for target in report.targets:
        items = by_target.pop(target.name, [])
        if items:
            blocks.append(f"<h3>{_e(target.name)} ({len(items)})</h3>")
            blocks.extend(_failure(i, report.results[i], index) for i in items)
    for name, items in by_target.items():  # results of a target the report does not list
        blocks.append(f"<h3>{_e(name)} (not a listed target, {len(items)})</h3>")
        blocks.extend(_failure(i, report.results[i], index) for i in items)
    return f"<section id='failures'><h2>Failures and errors</h2>{''.join(blocks)}</section>"


def _skips(report: RunReport) -> str:
    reasons: dict[str, Counter[str]] = {}
    for result in report.results:
        if result.outcome == Outcome.SKIPPED:
            reasons.setdefault(result.target, Counter())[first_line(result.message) or "(no reason)"] += 1
    if not reasons:
        return ""
    blocks = []
    for target, counter in reasons.items():
        items = "".join(
            f"<li><b>{n}</b> &times; {_e(reason)}</li>"
            for reason, n in counter.most_common(SKIP_REASONS_SHOWN)
        )
        more = len(counter) - SKIP_REASONS_SHOWN
        extra = f"<li class='muted'>… {more} other reasons</li>" if more > 0 else ""
        blocks.append(f"<h3>{_e(target)}</h3><ul>{items}{extra}</ul>")
    return f"<section id='skips'><h2>Skipped tests, by reason</h2>{''.join(blocks)}</section>"


# -- page ---------------------------------------------------------------------------------------------------

_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--alt:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);
margin:0;padding:0 1.2rem 3rem}
h1{font-size:1.5rem;margin:1rem 0 .3rem}
h2{border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--alt);border:1px solid var(--line);padding:.5rem;overflow:auto;max-height:30rem;
white-space:pre-wrap;word-break:break-all;margin:.3rem 0}
table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;
vertical-align:top}
.scroll{overflow-x:auto}.muted{color:var(--muted)}.small{font-size:12px}.good{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}
.meta{color:var(--muted);margin:.2rem 0}.reason{font-size:12px;color:#9a3412;max-width:28rem}
.v{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:12px;white-space:nowrap;border:1px solid;
text-decoration:none}
a.v{text-decoration:underline}
.v-passed{background:#dafbe1;color:#116329;border-color:#aceebb}
.v-failed{background:#ffebe9;color:#a40e26;border-color:#ff8182;font-weight:600}
.v-error{background:#fbefff;color:#6e40c9;border-color:#d8b9ff;font-weight:600}
.v-skipped{background:#eaeef2;color:#424a53;border-color:#d1d9e0}
.v-untested{background:#fff;color:#6e7781;border-style:dashed;border-color:#afb8c1}
.v-known{background:#fff8c5;color:#7d4e00;border-color:#d4a72c}
.lib-fail{color:#b3261e;font-weight:600}.lib-error{color:#8a5300}.lib-skip,.lib-na{color:#777}
.coverage td{white-space:nowrap}svg.bar{vertical-align:middle}
.interop td{min-width:9rem}.interop ul{margin:.2rem 0;padding-left:1rem}
.v-not-run{background:#fff;color:#6e7781;border-style:dotted;border-color:#afb8c1}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-start;margin:.5rem 0}
.filters fieldset{border:1px solid var(--line);padding:.2rem .5rem;margin:0;max-width:100%}
.filters legend{font-weight:600;font-size:12px}
.filters label{display:inline-block;margin-right:.6rem;font-size:13px}
.count{margin:.3rem 0;color:var(--muted)}
.grid{border:1px solid var(--line)}
.row{display:grid;grid-template-columns:var(--cols);gap:.4rem;align-items:center;padding:.2rem .4rem;
border-bottom:1px solid var(--line);min-width:min-content}
.row.head{font-weight:600;background:var(--alt);position:sticky;top:0;z-index:1}
summary.row{cursor:pointer;list-style:none}summary.row::-webkit-details-marker{display:none}
summary.row:hover{background:var(--alt)}
details.req[open]>summary.row{background:#ddf4ff}
.row .st{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.row .tc{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.body{padding:.4rem 1rem .8rem;border-bottom:1px solid var(--line);background:#fcfdfe}
.body h4{margin:.6rem 0 .2rem}.statement{font-size:15px}
.failure{border:1px solid var(--line);border-left:4px solid #cf222e;padding:.3rem .8rem;margin:.8rem 0}
.known{background:#fff8c5;padding:.2rem .4rem;margin:.2rem 0}
.failure h4{margin:.3rem 0}.failure:target{outline:3px solid #0969da}
.ex{margin:.4rem 0;border-top:1px dashed var(--line);padding-top:.3rem}
.ex summary{cursor:pointer;word-break:break-all}
.half{display:inline-block;vertical-align:top;width:49%;min-width:20rem;padding-right:.5rem}
.half h5{margin:.3rem 0}.hdrs{font-size:12px}.hdrs td{word-break:break-all}
.kv th{font-weight:600;background:var(--alt)}
"""

_JS = """
(function(){
var m=document.getElementById('matrix');if(!m)return;
var rows=[].slice.call(m.querySelectorAll('.req'));
var count=document.getElementById('count');
var hasHas=window.CSS&&CSS.supports&&CSS.supports('selector(:has(a))');
function pick(n){var c=m.querySelector('input[name='+n+']:checked');
 return c&&c.id!==n+'-all'?c.id.slice(n.length+1):null;}
var hu=document.getElementById('hide-untested');
function update(){var a=pick('fa'),l=pick('fl'),v=pick('fv'),shown=0;
 rows.forEach(function(r){var ok=(a===null||r.classList.contains('a-'+a))&&
  (l===null||r.classList.contains('l-'+l))&&(v===null||r.classList.contains('v-'+v))&&
  !(hu.checked&&r.classList.contains('untested'));
  if(!hasHas)r.style.display=ok?'':'none';if(ok)shown++;});
 count.textContent='Showing '+shown+' of '+rows.length+' requirements.';}
m.addEventListener('change',update);update();
var bar=document.createElement('p');
[['Expand all',true],['Collapse all',false]].forEach(function(x){var b=document.createElement('button');
 b.type='button';b.textContent=x[0];b.addEventListener('click',function(){rows.forEach(function(r){
 if(r.style.display!=='none'&&getComputedStyle(r).display!=='none')r.open=x[1];});});bar.appendChild(b);
 bar.appendChild(document.createTextNode(' '));});
count.parentNode.insertBefore(bar,count.nextSibling);
document.addEventListener('click',function(ev){var a=ev.target.closest&&ev.target.closest('a[href^="#"]');
 if(!a)return;var t=document.getElementById(a.getAttribute('href').slice(1));
 if(t&&t.tagName==='DETAILS')t.open=true;});
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_html(report: RunReport, *, matrix: Matrix | None = None) -> str:
    """The whole page as one string (already redacted by the caller; see :mod:`atcheck.report.writer`)."""
    if matrix is None:
        matrix = requirement_matrix(report)
    index = _index(report, matrix)
    n_areas = len({req.area for req in report.requirements})
    cols = f"11rem 4.2rem 7rem minmax(14rem,1fr) repeat({len(report.targets)},7.4rem)"
    css = f"{_CSS}:root{{--cols:{cols}}}\n{_filter_css(n_areas, len(index.summary.levels))}"
    skips = _skips(report)
    skips_link = " · <a href='#skips'>Skips</a>" if skips else ""
    interop = _interop(report, index, interop_matrix(report))
    interop_link = "<a href='#interop'>Interop</a> · " if interop else ""
    libraries = _libraries(library_matrix(report))
    interop_link += "<a href='#libraries'>Libraries</a> · " if libraries else ""
    csp = (
        f"default-src 'none'; style-src '{_sha256(css)}'; script-src '{_sha256(_JS)}'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    body = "".join(
        [
            _header(report, index),
            "<nav><a href='#targets'>Targets</a> · <a href='#defects'>Distinct failures</a> · "
            "<a href='#coverage'>Coverage</a> · "
            f"<a href='#matrix'>Matrix</a> · {interop_link}"
            f"<a href='#failures'>Failures</a>{skips_link}</nav>",
            _targets(report, index),
            _defects(report, index),
            _coverage(report, index),
            interop,
            libraries,
            _matrix(report, index),
            _failures(report, index),
            skips,
            f"<footer><p class='muted'>Written by atcheck {_e(report.atcheck_version)}. "
            "The full data, unclipped, is in report.json beside this file.</p></footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>atcheck report · {_e(report.run_id)}</title><style>{css}</style></head>"
        f"<body>{body}<script>{_JS}</script></body></html>\n"
    )
