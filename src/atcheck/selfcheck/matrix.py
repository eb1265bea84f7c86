"""The kill matrix: ``selfcheck.json`` (a list of ``{fault, area, killed, tests, ...}``) and an HTML page.

Survivors come first: they are what the suites would miss, each with the reason written in the catalogue
when there is one. The page is drawn with the compliance report's own pieces (its stylesheet, its escaping
and its Content-Security-Policy that allows only the page's own style), so it reads like the report it sits
beside.
"""

from __future__ import annotations

import json
from pathlib import Path

from atcheck.report.html import _CSS, _e, _sha256
from atcheck.selfcheck.runner import FaultResult, Selfcheck

__all__ = ["kill_rate", "ordered", "render_html", "write_matrix"]


def ordered(results: list[FaultResult]) -> list[FaultResult]:
    """Survivors first (never-applied ones last among them), then killed faults, each in catalogue order."""
    return sorted(results, key=lambda r: (r.killed, r.applied == 0 and not r.killed))


def kill_rate(results: list[FaultResult]) -> float:
    """Killed faults over all faults judged (0.0 when none was)."""
    return sum(r.killed for r in results) / len(results) if results else 0.0


def write_matrix(check: Selfcheck, out: Path) -> dict[str, Path]:
    """Write ``selfcheck.json`` and ``selfcheck.html`` into ``out``; return what was written."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [r.as_json() for r in ordered(check.results)]
    json_path = out / "selfcheck.json"
    json_path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    html_path = out / "selfcheck.html"
    html_path.write_text(render_html(check), encoding="utf-8")
    return {"json": json_path, "html": html_path}


def _row(r: FaultResult) -> str:
    verdict = "✓ killed" if r.killed else "✗ SURVIVED"
    css = "good" if r.killed else "bad"
    tests = "".join(f"<li><code>{_e(t)}</code></li>" for t in r.tests) or "<li class='muted'>none</li>"
    notes = []
    if r.survives:
        notes.append(f"<p><b>Why it survives:</b> {_e(r.survives)}</p>")
    if r.applied == 0:
        notes.append(
            "<p class='muted'>The fault was never triggered: no request or frame it rewrites was sent.</p>"
        )
    if r.problem:
        notes.append(f"<p><b>Not judged:</b> {_e(r.problem)}</p>")
    return (
        f"<tr><td class='{css}'>{verdict}</td><td><details><summary><code>{_e(r.fault)}</code></summary>"
        f"<p>{_e(r.doc)}</p>{''.join(notes)}<ul>{tests}</ul></details></td>"
        f"<td>{_e(r.category)}</td><td>{_e(r.role)}</td><td>{_e(', '.join(r.area))}</td>"
        f"<td>{_e(r.target)}</td><td>{len(r.tests)}</td><td>{r.applied}</td><td>{r.seconds:.0f} s</td></tr>"
    )


def render_html(check: Selfcheck) -> str:
    """The kill matrix as one self-contained page."""
    rows = ordered(check.results)
    killed = sum(r.killed for r in rows)
    css = _CSS + "table.kill td,table.kill th{padding:.2rem .5rem;text-align:left;vertical-align:top}"
    csp = f"default-src 'none'; style-src '{_sha256(css)}'; base-uri 'none'; form-action 'none'"
    skipped = "".join(
        f"<li>{_e(t)}: {_e(', '.join(names))}</li>" for t, names in check.not_applicable.items() if names
    )
    figures = (
        f"<p>{killed} of {len(rows)} faults killed ({kill_rate(rows):.0%}); "
        f"wall time {check.wall_seconds:.0f} s; "
        + "; ".join(f"baseline of {_e(t)}: {s:.0f} s" for t, s in check.baseline_seconds.items())
        + "</p>"
    )
    body = (
        "<header><h1>atcheck selfcheck: kill matrix</h1>"
        f"{figures}<p class='muted'>A fault is killed by each test that passed with no fault and fails with "
        "it. Survivors first.</p></header>"
        "<table class='kill'><thead><tr><th>verdict</th><th>fault</th><th>category</th><th>role</th>"
        "<th>areas</th><th>target</th><th>tests</th><th>applied</th><th>time</th></tr></thead><tbody>"
        + "".join(_row(r) for r in rows)
        + "</tbody></table>"
        + (
            f"<h2>Not applicable</h2><p>Faults of a role the target does not have:</p><ul>{skipped}</ul>"
            if skipped
            else ""
        )
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        "<meta name='referrer' content='no-referrer'>"
        f"<title>atcheck selfcheck</title><style>{css}</style></head><body>{body}</body></html>\n"
    )
