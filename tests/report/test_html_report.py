"""report.html: self-contained, escaped, a matrix with text verdicts, links from failed cells to evidence."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser

from atcheck.report.html import render_html
from atcheck.report.model import Exchange, Outcome, RunReport
from atcheck.report.model import TestResult as Result

VOID = {"meta", "br", "input", "img", "hr", "link", "col", "wbr"}


class Page(HTMLParser):
    """Collects what the tests look at, and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.mismatches: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None
        self.details: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "a" and a.get("href"):
            self.hrefs.append(str(a["href"]))
        if tag == "details":
            self.details.append(a)
        if tag in ("script", "style"):
            self._in = tag
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self._in = None
        if not self.stack or self.stack[-1] != tag:
            self.mismatches.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    return p


def test_well_formed_and_self_contained(report: RunReport) -> None:
    page = render_html(report)
    p = parse(page)
    assert p.mismatches == [] and p.stack == []
    # Nothing is fetched: no external scripts, styles, images, frames or imports.
    for tag, attrs in p.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
        assert "src" not in attrs, (tag, attrs)
    assert len(p.scripts) == 1 and len(p.styles) == 1
    assert "@import" not in p.styles[0] and "url(" not in p.styles[0]
    # Every in-page link lands somewhere; the only others are the catalogue's spec references.
    ids = set(p.ids)
    assert len(ids) == len(p.ids), "duplicate ids"
    for href in p.hrefs:
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert href.startswith("https://atproto.com/specs/"), href


def test_csp_allows_exactly_the_inline_script_and_style(report: RunReport) -> None:
    page = render_html(report)
    p = parse(page)
    csp = next(
        a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None and "default-src 'none'" in csp

    def digest(text: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"script-src '{digest(p.scripts[0])}'" in csp
    assert f"style-src '{digest(p.styles[0])}'" in csp


def test_hostile_strings_are_escaped(report: RunReport, hostile: str) -> None:
    page = render_html(report)
    assert hostile not in page
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    p = parse(page)
    assert len(p.scripts) == 1  # ours only
    # The hostile text is shown as text, where it came from: message, evidence body, deviation, target reason.
    text = "".join(p.text)
    assert text.count('<script>alert("pwned")</script>') >= 4
    # Control characters are made visible rather than passed through.
    assert "\x00" not in page and "\x1b" not in page and "\\x1b[31m" in page


def test_matrix_cells_have_text_and_failed_cells_link_to_evidence(report: RunReport) -> None:
    page = render_html(report)
    p = parse(page)
    rows = {a["id"]: a for a in p.details if (a.get("id") or "").startswith("req-")}
    assert set(rows) == {
        "req-XRPC-ERR-01",
        "req-XRPC-ERR-02",
        "req-REPO-CID-01",
        "req-SYNC-FH-03",
        "req-SYN-TID-01",
    }
    row = re.search(r"<details class='req[^']*' id='req-XRPC-ERR-01'>(.*?)</summary>", page, re.S)
    assert row is not None
    flat = row.group(1).split("<span class='tc'>")[1:]
    assert len(flat) == 3  # one cell per target
    assert "pass" in flat[0] and "v-passed" in flat[0]
    assert "FAIL" in flat[1] and 'href="#f-' in flat[1]
    assert "not run" in flat[2]
    target_id = re.search(r'href="#(f-\d+)"', flat[1])
    assert target_id is not None and target_id.group(1) in p.ids
    # The evidence section holds the message and the exchanges, redacted by the writer, clipped here.
    evidence = page[page.index(f"id='{target_id.group(1)}'") :]
    assert "expected status 400" in evidence
    assert "com.atproto.server.createSession" in evidence and "com.atproto.unknown.method" in evidence
    # untested and error are shown as words too
    sync = re.search(r"id='req-SYNC-FH-03'>(.*?)</summary>", page, re.S)
    assert sync is not None and sync.group(1).count("</span> untested</span>") == 3
    repo = re.search(r"id='req-REPO-CID-01'>(.*?)</summary>", page, re.S)
    assert repo is not None and "error" in repo.group(1) and "v-error" in repo.group(1)


def test_row_classes_drive_the_filters(report: RunReport) -> None:
    page = render_html(report)
    classes = dict(
        re.findall(r"<details class='(req[^']*)' id='(req-[^']+)'>", page)[i][::-1] for i in range(5)
    )
    # areas sorted: repo=0 sync=1 syntax=2 xrpc=3; levels MUST=0 SHOULD=1 MAY=2; verdicts in VERDICT_ORDER
    assert classes["req-XRPC-ERR-01"].split() == ["req", "a-3", "l-0", "v-0", "v-1", "v-5"]
    assert classes["req-SYNC-FH-03"].split() == ["req", "a-1", "l-0", "v-4", "untested"]
    assert "#matrix:has(#hide-untested:checked) .req.untested" in page
    assert "#matrix:has(#fa-3:checked) .req:not(.a-3)" in page
    assert "#matrix:has(#fv-1:checked) .req:not(.v-1)" in page
    for radio in ("fa-all", "fa-3", "fl-0", "fl-2", "fv-1", "fv-5"):
        assert f'id="{radio}"' in page


def test_expanded_row_has_statement_spec_deviations_and_tests(report: RunReport) -> None:
    page = render_html(report)
    body = page[page.index("id='req-REPO-CID-01'") :]
    body = body[: body.index("</details>")]
    assert "Statement of REPO-CID-01" in body
    assert 'href="https://atproto.com/specs/repo#repo-cid-01"' in body
    assert "Deviations" in body and "reference differs" in body
    assert "suites/repo/test_records.py::test_create_record_cid" in body


def test_not_run_target_shows_its_reason(report: RunReport) -> None:
    page = render_html(report)
    section = page[page.index("id='targets'") : page.index("id='matrix'")]
    assert "not run" in section and "unreachable: http://admin:" in section


def test_known_failure_is_marked(report: RunReport) -> None:
    result = report.results[2]
    result.known_failure = "tracked in arroba#12"
    page = render_html(report)
    assert "Known failure</b> (baseline): tracked in arroba#12" in page


def test_long_evidence_is_clipped_and_last_exchanges_kept(report: RunReport) -> None:
    many = [
        Exchange("GET", f"http://127.0.0.1/xrpc/step{i}", 200, response_body="x" * 50_000) for i in range(20)
    ]
    failing = Result(
        "suites/x.py::test_many", "reference", ["XRPC-ERR-01"], "MUST", Outcome.FAILED, "m", 0, many
    )
    page = render_html(replace(report, results=[*report.results, failing]))
    assert "step19" in page and "step14" in page and "step13<" not in page
    assert "14 earlier exchange(s) not shown" in page
    assert "more characters not shown" in page
    assert len(page) < 500_000


def test_failed_cell_links_to_a_new_failure_before_a_known_one(report: RunReport) -> None:
    known = Result(
        "suites/xrpc/test_errors.py::test_first", "arroba", ["XRPC-ERR-01"], "MUST", Outcome.FAILED, "old bug"
    )
    known.known_failure = "tracked"
    report.results.insert(0, known)  # first in order, yet the cell must point at the new failure
    page = render_html(report)
    row = re.search(r"id='req-XRPC-ERR-01'>(.*?)</summary>", page, re.S)
    assert row is not None
    link = re.search(r'href="#(f-\d+)"', row.group(1))
    assert link is not None and link.group(1) == "f-3"  # the envelope failure, now at index 3


def test_catalogue_test_functions_are_listed_by_their_parametrized_instances(report: RunReport) -> None:
    base = "suites/xrpc/test_errors.py::TestStatus::test_unknown_method"
    req = report.requirements[0]
    req.tests = [
        "suites/xrpc/test_errors.py::test_error_envelope",
        base,
        "suites/xrpc/test_never_ran.py::test_x",
    ]
    report.results.append(Result(f"{base}[POST]", "reference", ["XRPC-ERR-01"], "MUST", Outcome.PASSED))
    page = render_html(report)
    body = page[page.index("id='req-XRPC-ERR-01'") :]
    body = body[: body.index("</details>")]
    rows = re.findall(r"<tr><th scope='row'><code>(.*?)</code></th>(.*?)</tr>", body)
    assert [name for name, _ in rows] == [
        "suites/xrpc/test_errors.py::test_error_envelope",
        f"{base}[GET]",
        f"{base}[POST]",
        "suites/xrpc/test_never_ran.py::test_x",
    ]
    cells = dict(rows)
    assert cells[f"{base}[GET]"].count("v-passed") == 2  # reference and arroba
    not_run = "</span> not run</span>"
    assert cells[f"{base}[POST]"].count("v-passed") == 1 and cells[f"{base}[POST]"].count(not_run) == 2
    assert cells["suites/xrpc/test_never_ran.py::test_x"].count(not_run) == 3


def test_cell_whose_failures_are_all_known_says_so(report: RunReport) -> None:
    report.results[7].known_failure = "arroba crashes on this, tracked"  # REPO-CID-01 on arroba, error
    page = render_html(report)
    row = re.search(r"id='req-REPO-CID-01'>(.*?)</summary>", page, re.S)
    assert row is not None and "error (known)" in row.group(1)
    row = re.search(r"id='req-XRPC-ERR-01'>(.*?)</summary>", page, re.S)
    assert row is not None and "(known)" not in row.group(1)


def test_coverage_by_area_has_a_bar_per_area_and_target(report: RunReport) -> None:
    page = render_html(report)
    p = parse(page)
    assert p.mismatches == []
    section = page.split("<section id='coverage'>", 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr class='area'>.*?</tr>", section)
    assert [re.search(r"<th scope='row'>([^<]+)</th>", r).group(1) for r in rows] == [  # type: ignore[union-attr]
        "repo",
        "sync",
        "syntax",
        "xrpc",
    ]
    xrpc = rows[-1]
    assert "2/2 (100%)" in xrpc  # both xrpc requirements have tests
    assert xrpc.count("<svg class='bar'") == 1 + len(report.targets)
    sync = rows[1]
    assert "0/1 (0%)" in sync and "none judged" in sync  # SYNC-FH-03 is untested
    assert "1/1 passed" in rows[0] and "0/1 passed" in rows[0]  # repo: reference passed, arroba errored
    assert "href='#coverage'" in page
