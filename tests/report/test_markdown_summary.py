"""summary.md: a headline of distinct MUST failures, per-target tables, one line per failure, size."""

from __future__ import annotations

from dataclasses import replace

import pytest

from atcheck.report import markdown
from atcheck.report.markdown import escape_md, render_markdown
from atcheck.report.model import Outcome, RequirementInfo, RunReport
from atcheck.report.model import TestResult as Result


def _table(text: str, target: str) -> list[list[str]]:
    section = text[text.index(f"### {target} ") :]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    rows = []
    for ln in lines:
        if ln.startswith("|---"):
            continue
        rows.append([c.strip() for c in ln.strip("|").split("|")])
        if len(rows) == 3:  # header, MUST, SHOULD
            break
    return rows


def test_a_table_per_target_with_must_and_should(report: RunReport) -> None:
    text = render_markdown(report)
    header, must, should = _table(text, "arroba")
    assert header == ["requirements", "passed", "failed", "error", "skipped", "untested", "not run"]
    assert must == ["MUST", "0", "1", "1", "0", "1", "0"]
    assert should == ["SHOULD", "0", "1", "0", "0", "0", "0"]
    _, ref_must, ref_should = _table(text, "reference")
    assert ref_must == ["MUST", "2", "0", "0", "0", "1", "0"]
    assert ref_should == ["SHOULD", "0", "0", "0", "1", "0", "0"]
    table = text.split("| requirements")[1].split("\n\n")[0]
    assert "MAY" not in table  # MAY rows are left to report.html


def test_not_run_target_gives_its_reason_instead_of_a_table(report: RunReport) -> None:
    text = render_markdown(report)
    section = text[text.index("### broken ") :].split("###")[1]
    assert "not run" in section and "unreachable" in section
    assert "|" not in section.replace("\\|", "")


def test_failed_must_requirements_listed_with_one_line_messages(report: RunReport) -> None:
    text = render_markdown(report)
    failures = text[text.index("### MUST failures on arroba: 2 distinct, 2 new") :]
    lines = [ln for ln in failures.splitlines() if ln.startswith("- ")]
    assert len(lines) == 2
    # One failure naming a MUST and a SHOULD ID is one line, with both IDs, the strongest first.
    assert lines[0].startswith(
        "- `suites/xrpc/test_errors.py::test_error_envelope` · **XRPC-ERR-01**, XRPC-ERR-02 · **new**: "
    )
    assert "expected status 400" in lines[0] and "body:" not in lines[0]  # first line of the message only
    assert lines[1].startswith("- `suites/repo/test_records.py::test_create_record_cid` · **REPO-CID-01**")
    assert "MUST failures on reference" not in text
    assert "1 distinct SHOULD failure(s)" in text


def test_headline_and_coverage(report: RunReport) -> None:
    text = render_markdown(report)
    assert text.startswith("## atcheck: ❌ **2 new MUST failures**")
    assert "coverage **4** of 5 requirements have a test (80.0%)" in text
    passing = replace(report, results=[r for r in report.results if r.outcome == Outcome.PASSED])
    assert render_markdown(passing).startswith("## atcheck: ✅ **no MUST check failed**")


def test_hostile_text_does_not_render_as_markdown_or_html(report: RunReport) -> None:
    result = report.results[2]
    report.results[2] = replace(
        result, message="<script>x</script> | a *b* _c_ [l](http://e) `t` $m$\nsecond"
    )
    text = render_markdown(report)
    line = next(ln for ln in text.splitlines() if ln.startswith("- `suites/xrpc/test_errors.py::test_error_"))
    assert "<script>" not in text
    assert "&lt;script&gt;x&lt;/script&gt; \\| a \\*b\\* \\_c\\_ \\[l\\](http://e) \\`t\\` \\$m\\$" in line
    assert "second" not in line
    assert escape_md("a|b\nc\x00") == "a\\|b c "


def test_stays_under_the_size_budget(report: RunReport, monkeypatch: pytest.MonkeyPatch) -> None:
    reqs = [RequirementInfo(f"BIG-{i:05d}", "MUST", "big", "s", "r", tests=[f"t{i}"]) for i in range(3000)]
    results = [
        Result(f"t{i}", "arroba", [f"BIG-{i:05d}"], "MUST", Outcome.FAILED, "x" * 300) for i in range(3000)
    ]
    big = replace(report, requirements=report.requirements + reqs, results=report.results + results)
    text = render_markdown(big)
    assert len(text.encode()) < 1024 * 1024
    assert text.count("\n- `t") == 3000  # fits: nothing cut
    monkeypatch.setattr(markdown, "SIZE_BUDGET", 100_000)
    cut = render_markdown(big)
    assert len(cut.encode()) <= 100_000
    assert "more MUST failure(s) not listed here" in cut
    listed = cut.count("\n- `")
    assert 100 < listed < 3000
    assert f"… {3002 - listed} more MUST failure(s)" in cut
