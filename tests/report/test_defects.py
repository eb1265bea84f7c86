"""Distinct defects: one failing test is one defect, whatever its cases and IDs; a plain headline."""

from __future__ import annotations

from dataclasses import replace

import pytest

from atcheck.report.defects import charged_role, count, defects, headline
from atcheck.report.markdown import render_markdown
from atcheck.report.model import Outcome, RequirementInfo, RunReport, TargetInfo
from atcheck.report.model import TestResult as Result

T_SPECIAL = "suites/repo/test_rules.py::test_malformed_special_objects"
T_KEY = "suites/identity/test_doc.py::test_multikey"
T_STATUS = "suites/repo/test_rules.py::test_status"


def _req(rid: str, level: str, applies_to: list[str]) -> RequirementInfo:
    return RequirementInfo(rid, level, "data-model", f"{rid} says so", "data-model", applies_to, tests=["t"])


def _run(results: list[Result]) -> RunReport:
    return RunReport(
        atcheck_version="0",
        run_id="r",
        started_at="2026-12-03T00:00:00Z",
        finished_at="2026-12-03T00:00:01Z",
        duration_s=1.0,
        targets=[TargetInfo("reference", "@atproto/pds", "0.5.35", ["plc", "pds"], "process")],
        requirements=[
            _req("DM-VAL-01", "MUST", ["pds"]),
            _req("DM-JSON-01", "MUST", ["pds", "lib"]),
            _req("DM-JSON-02", "MUST", ["pds", "lib"]),
            _req("ID-PLC-12", "MUST", ["plc"]),
            _req("XRPC-ERR-06", "SHOULD", ["pds", "relay"]),
        ],
        results=results,
    )


def _special(known: str | None = "known: stores malformed $link/$bytes") -> list[Result]:
    """Six failing cases of one test, tagged per case: $link cases DM-JSON-01, $bytes cases DM-JSON-02."""
    return [
        Result(
            f"{T_SPECIAL}[{kind}-{n}]",
            "reference",
            ["DM-VAL-01", "DM-JSON-01" if kind == "link" else "DM-JSON-02"],
            "MUST",
            Outcome.FAILED,
            message="expected HTTP 400; got HTTP 200",
            known_failure=known,
            role="pds",
        )
        for kind in ("link", "bytes")
        for n in range(3)
    ]


def _plc_key(known: str | None = "known: legacy key") -> Result:
    return Result(
        T_KEY,
        "reference",
        ["ID-PLC-12"],
        "MUST",
        Outcome.FAILED,
        "legacy key type",
        known_failure=known,
        role="plc",
    )


def test_one_failing_test_is_one_defect_with_every_id_it_names() -> None:
    found = defects(_run(_special()))
    assert len(found) == 1
    (defect,) = found
    assert defect.test == T_SPECIAL and len(defect.cases) == 6
    assert defect.requirement_ids == ["DM-JSON-01", "DM-JSON-02", "DM-VAL-01"]
    assert count(found).must == 1  # not 3 (requirements), not 6 (cases), not 18 (case x ID)


def test_the_summary_count_equals_the_distinct_defects() -> None:
    """Planted: 6 cases x 3 IDs plus a PLC failure; the summary must say 2, in its headline and section."""
    report = _run([*_special(), _plc_key()])
    text = render_markdown(report)
    assert text.startswith("## atcheck: ⚠️ **2 MUST checks failed, all known (baseline)**")
    assert "### MUST failures on reference: 2 distinct, all known (baseline)" in text
    assert len([ln for ln in text.splitlines() if ln.startswith("- `")]) == 2
    assert "Distinct failures: 2 MUST (0 new, 2 known)" in text
    assert "no MUST" not in text


def test_failures_are_grouped_by_the_role_charged() -> None:
    text = render_markdown(_run([*_special(), _plc_key()]))
    plc = text[text.index("#### charged to the plc (1)") :].split("####")[1]
    assert T_KEY in plc and T_SPECIAL not in plc
    pds = text[text.index("#### charged to the pds (1)") :].split("####")[1]
    assert T_SPECIAL in pds


@pytest.mark.parametrize(
    ("new_special", "new_key", "want"),
    [
        (False, False, "2 MUST checks failed, all known (baseline)"),
        (True, False, "1 new MUST failure, and 1 known (baseline)"),
        (True, True, "2 new MUST failures"),
    ],
)
def test_the_headline_counts_new_and_known(new_special: bool, new_key: bool, want: str) -> None:
    report = _run([*_special(None if new_special else "k"), _plc_key(None if new_key else "k")])
    assert headline(report) == want
    assert (count(defects(report)).must_new > 0) is report.must_failed  # the headline agrees with the exit


def test_one_new_case_makes_the_defect_new() -> None:
    results = _special()
    results[4] = replace(results[4], known_failure=None)  # a case the baseline does not know
    report = _run(results)
    assert headline(report) == "1 new MUST failure"
    assert report.must_failed


def test_a_new_should_case_does_not_make_a_known_must_defect_new() -> None:
    status = Result(
        f"{T_SPECIAL}[status]", "reference", ["XRPC-ERR-06"], "SHOULD", Outcome.FAILED, "500", role="pds"
    )
    report = _run([*_special(), status])
    assert headline(report) == "1 MUST check failed, all known (baseline)"
    assert not report.must_failed


def test_passing_and_empty_runs() -> None:
    passing = _run([replace(r, outcome=Outcome.PASSED, known_failure=None) for r in _special()])
    assert headline(passing) == "no MUST check failed"
    assert headline(_run([])) == "no conformance test ran"


def test_the_role_charged_comes_from_the_marker_or_the_requirements() -> None:
    assert charged_role(None, [["plc"]]) == "plc"  # a PLC rendering rule is the PLC's
    assert charged_role(None, [["pds", "relay", "appview"], ["pds", "lib"]]) == "pds"
    assert charged_role(None, [["relay", "appview", "consumer"]]) is None  # not guessed
    assert charged_role(None, [["lib"]]) is None
    assert charged_role("plc", [["pds"]]) == "plc"


def test_the_html_report_lists_distinct_failures_by_role() -> None:
    from atcheck.report.html import render_html

    page = render_html(_run([*_special(), _plc_key()]))
    section = page[
        page.index("<section id='defects'>") : page.index("</section>", page.index("id='defects'"))
    ]
    assert "reference: 2 MUST (0 new), 0 SHOULD, 0 MAY" in section
    assert "charged to the plc (1)" in section and "charged to the pds (1)" in section
    assert section.count("<tr><td><code>") == 2  # six cases of one test are one row
    assert "2 MUST checks failed, all known (baseline)" in page
