"""The library matrix: each library's cell per requirement says how many cases disagreed of those judged, the
rate comes from the counts and rates the library suite writes, and both writers show it (escaped)."""

from __future__ import annotations

from atcheck.report.html import render_html
from atcheck.report.libraries import cell_text, library_matrix
from atcheck.report.markdown import render_markdown
from atcheck.report.model import Outcome, RequirementInfo, RunReport, TargetInfo
from atcheck.report.model import TestResult as Result

T = "suites/libs/test_syntax.py::test_syntax_rule"
PASS = "38/40 cases agree (2 unsupported); 400 cases/s through the harness"
FAIL = (
    "expected lib-a to agree with atcheck's oracle on every case of SYN-TID-01; 3 of 40 cases disagree:\n"
    '  vector x: syntax.valid {"value": "<b>"} -> expected invalid\n(37/40 cases agree (0 unsupported); '
    "200 cases/s through the harness)"
)


def _report() -> RunReport:
    def req(rid: str) -> RequirementInfo:
        return RequirementInfo(rid, "MUST", "syntax", f"{rid}.", "tid", ["lib"], tests=[T])

    def result(target: str, rid: str, outcome: Outcome, message: str) -> Result:
        return Result(f"{T}[{rid}]", target, [rid], "MUST", outcome, message, role="lib")

    targets = [TargetInfo(n, "x", "1", ["lib"], "process") for n in ("lib-a", "lib-b")]
    targets.append(TargetInfo("reference", "pds", "1", ["plc", "pds"], "process"))
    return RunReport(
        "0.1",
        "run",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:01Z",
        1.0,
        targets,
        [req("SYN-TID-01"), req("SYN-TID-02")],
        [
            result("lib-a", "SYN-TID-01", Outcome.FAILED, FAIL),
            result("lib-a", "SYN-TID-02", Outcome.PASSED, PASS),
            result("lib-b", "SYN-TID-01", Outcome.SKIPPED, "lib-b has no routine for syntax.valid"),
        ],
    )


def test_cells_count_the_disagreeing_cases_and_the_rate_weighs_every_case() -> None:
    matrix = library_matrix(_report())
    assert matrix is not None and matrix.libraries == ["lib-a", "lib-b"]
    assert cell_text(matrix.rows["SYN-TID-01"]["lib-a"]) == "✗ 3 of 40"
    assert cell_text(matrix.rows["SYN-TID-02"]["lib-a"]) == "✓ 40"
    assert cell_text(matrix.rows["SYN-TID-01"]["lib-b"]) == "skip"
    assert cell_text(matrix.rows["SYN-TID-02"].get("lib-b")) == "—"
    rate = matrix.rate("lib-a")
    assert rate is not None and round(rate) == round(82 / (40 / 200 + 42 / 400))
    assert matrix.rate("lib-b") is None


def test_a_run_without_libraries_has_no_library_matrix() -> None:
    report = _report()
    report.targets = [t for t in report.targets if t.roles != ["lib"]]
    assert library_matrix(report) is None
    assert "Libraries" not in render_markdown(report)


def test_both_writers_show_the_matrix_and_escape_the_inputs() -> None:
    report = _report()
    markdown = render_markdown(report)
    assert "| SYN-TID-01 | ✗ 3 of 40 | skip |" in markdown
    html = render_html(report)
    assert "id='libraries'" in html and "✗ 3 of 40" in html
    assert "<b>" not in html.split("id='libraries'")[1].split("</section>")[0]
