"""A static compliance site across runs: which implementation, at which version, passes how much.

One report answers "how did this run go"; a project's compliance page answers "how do the implementations
compare, and how has each moved across versions". The site is built from report.json files alone (so any
archive of runs will do), and is plain files with relative links, so it works from ``file://``, from a CI
artifact, or from any static host:

    SITE/index.html                 implementations x versions, then every run
    SITE/runs/<run>/index.html      one run: its targets, badges and figures, links to the full report
    SITE/runs/<run>/report.html     the run's own report (re-rendered from report.json when absent)
    SITE/runs/<run>/report.json
    SITE/runs/<run>/badges/*.svg

No page fetches anything or runs a script; badges on the pages are ``data:`` images, so a strict CSP holds.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atcheck.errors import SetupError, UsageError
from atcheck.report.badges import render_badges
from atcheck.report.defects import headline
from atcheck.report.html import render_html
from atcheck.report.json_writer import read_report
from atcheck.report.model import RunReport, requirement_matrix
from atcheck.report.summary import TargetSummary, levels_of, summarize
from atcheck.report.writer import BADGES_DIR, write_atomically

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#1f2328;margin:0;padding:0 1.2rem 3rem}
h1{font-size:1.5rem}h2{border-bottom:1px solid #d1d9e0;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse}th,td{border:1px solid #d1d9e0;padding:.25rem .5rem;text-align:left;
vertical-align:middle}thead th{background:#f6f8fa}.muted{color:#59636e}.bad{color:#cf222e}.good{color:#1a7f37}
code{font:12px ui-monospace,monospace}img{vertical-align:middle}
"""


@dataclass(frozen=True)
class SiteRun:
    source: Path  # the run's report.json
    report: RunReport
    slug: str  # folder name under runs/


def _slug(run_id: str, taken: set[str]) -> str:
    base = _UNSAFE.sub("_", run_id).strip("._") or "run"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def find_reports(args: Sequence[str]) -> list[Path]:
    """report.json files named by ``args``: a file, a run dir, or a folder of run dirs (e.g. reports/)."""
    found: dict[Path, None] = {}
    for arg in args:
        path = Path(arg)
        if path.is_file():
            found[path.resolve()] = None
        elif (path / "report.json").is_file():
            found[(path / "report.json").resolve()] = None
        elif path.is_dir():
            runs = sorted(p for p in path.glob("*/report.json") if not p.parent.is_symlink())
            if not runs:
                raise UsageError(f"{arg}: no report.json in it or in its subfolders")
            found.update((p.resolve(), None) for p in runs)
        else:
            raise UsageError(f"{arg}: no such report or folder")
    return list(found)


def load_runs(args: Sequence[str]) -> list[SiteRun]:
    """Every run, newest first; the same run (same run id) given twice is kept once."""
    by_id: dict[str, tuple[Path, RunReport]] = {}
    for path in find_reports(args):
        report = read_report(path)
        by_id.setdefault(report.run_id, (path, report))
    ordered = sorted(by_id.values(), key=lambda pr: (pr[1].started_at, pr[1].run_id), reverse=True)
    taken: set[str] = set()
    return [SiteRun(path, report, _slug(report.run_id, taken)) for path, report in ordered]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def _img(svg: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"<img alt='badge' src='data:image/svg+xml;base64,{data}'>"


def _ratio(ts: TargetSummary, level: str) -> str:
    counts = ts.verdicts.get(level, {})
    passed = counts.get("passed", 0)
    judged = passed + counts.get("failed", 0) + counts.get("error", 0)
    return f"{passed}/{judged}" if judged else "—"


@dataclass(frozen=True)
class _Row:
    run: SiteRun
    target: str
    implementation: str
    version: str
    launcher: str
    status: str
    badge: str
    ratios: dict[str, str]


def _rows(runs: Sequence[SiteRun]) -> tuple[list[_Row], list[str]]:
    rows: list[_Row] = []
    levels: list[str] = []
    for run in runs:
        matrix = requirement_matrix(run.report)
        summary = summarize(run.report, matrix)
        badges = render_badges(run.report, matrix)
        for level in levels_of(run.report):
            if level not in levels:
                levels.append(level)
        for target, ts, badge in zip(run.report.targets, summary.targets, badges.values(), strict=True):
            rows.append(
                _Row(
                    run=run,
                    target=target.name,
                    implementation=target.implementation,
                    version=target.version,
                    launcher=target.launcher,
                    status=target.status,
                    badge=badge,
                    ratios={level: _ratio(ts, level) for level in summary.levels},
                )
            )
    return rows, levels


def _target_table(rows: Sequence[_Row], levels: Sequence[str], prefix: str, with_run: bool) -> str:
    head = "".join(f"<th>{_e(level)} passed</th>" for level in levels)
    run_head = "<th>Run</th><th>Date</th>" if with_run else ""
    body = []
    for row in rows:
        status = "" if row.status == "ran" else " <span class='muted'>(not run)</span>"
        cells = "".join(f"<td>{_e(row.ratios.get(level, '—'))}</td>" for level in levels)
        run_cells = (
            f"<td><a href='{prefix}runs/{_e(row.run.slug)}/index.html'><code>{_e(row.run.report.run_id)}"
            f"</code></a></td><td>{_e(row.run.report.started_at)}</td>"
            if with_run
            else ""
        )
        body.append(
            f"<tr><td>{_e(row.implementation)}</td><td>{_e(row.version)}</td><td>{_e(row.target)}{status}</td>"
            f"<td>{_e(row.launcher)}</td>{run_cells}<td>{_img(row.badge)}</td>{cells}</tr>"
        )
    return (
        "<table><thead><tr><th>Implementation</th><th>Version</th><th>Target</th><th>Launcher</th>"
        f"{run_head}<th>Badge</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def render_index(runs: Sequence[SiteRun]) -> str:
    rows, levels = _rows(runs)
    # Per implementation and target, newest run first (versions are not reliably sortable as strings).
    by_impl = sorted(rows, key=lambda r: r.run.report.started_at, reverse=True)
    by_impl.sort(key=lambda r: (r.implementation, r.target))
    run_items = "".join(
        f"<tr><td><a href='runs/{_e(r.slug)}/index.html'><code>{_e(r.report.run_id)}</code></a></td>"
        f"<td>{_e(r.report.started_at)}</td><td>atcheck {_e(r.report.atcheck_version)}</td>"
        f"<td>{_e(', '.join(t.name for t in r.report.targets))}</td><td>{_e(headline(r.report))}</td></tr>"
        for r in runs
    )
    body = (
        "<h1>AT Protocol compliance</h1><p class='muted'>Built by atcheck from "
        f"{len(runs)} run(s). Ratios count the requirements judged on each target (passed, failed or "
        "errored); skipped, untested and not-run requirements are left out.</p>"
        "<h2>Implementations and versions</h2>"
        f"{_target_table(by_impl, levels, '', with_run=True)}"
        "<h2>Runs</h2><table><thead><tr><th>Run</th><th>Started</th><th>Tool</th><th>Targets</th>"
        f"<th>Verdict</th></tr></thead><tbody>{run_items}</tbody></table>"
    )
    return _page("AT Protocol compliance (atcheck)", body)


def render_run_page(run: SiteRun) -> str:
    rows, levels = _rows([run])
    r = run.report
    body = (
        "<p><a href='../../index.html'>&larr; all runs</a></p>"
        f"<h1>Run <code>{_e(r.run_id)}</code></h1><p class='muted'>atcheck {_e(r.atcheck_version)} · "
        f"{_e(r.started_at)} → {_e(r.finished_at)} ({r.duration_s:.1f} s)</p><p>{_e(headline(r))}</p>"
        f"{_target_table(rows, levels, '../../', with_run=False)}"
        "<p><a href='report.html'>Full report</a> (matrix, evidence) · <a href='report.json'>report.json</a>"
        f" · badges in <a href='{BADGES_DIR}/'>{BADGES_DIR}/</a></p>"
    )
    return _page(f"atcheck run {r.run_id}", body)


def build_site(args: Sequence[str], out: Path) -> list[SiteRun]:
    """Write the site for the runs ``args`` name into ``out``; return the runs, newest first."""
    runs = load_runs(args)
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
        for run in runs:
            folder = out / "runs" / run.slug
            (folder / BADGES_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run.source, folder / "report.json")
            existing = run.source.parent / "report.html"
            if existing.is_file():
                shutil.copyfile(existing, folder / "report.html")
            else:
                write_atomically(folder / "report.html", render_html(run.report))
            for name, svg in render_badges(run.report).items():
                write_atomically(folder / BADGES_DIR / name, svg)
            write_atomically(folder / "index.html", render_run_page(run))
        write_atomically(out / "index.html", render_index(runs))
    except OSError as exc:
        raise SetupError(f"cannot write the site into {out}: {exc.strerror or exc}") from exc
    return runs
