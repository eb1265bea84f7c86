"""junit.xml: one testcase per (test, target), requirement IDs as properties, always well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from atcheck.report.junit import render_junit, split_test_id, xml_safe
from atcheck.report.model import RunReport


def _cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(s.get("name", ""), c.get("name", "")): c for s in root for c in s.iter("testcase")}


def test_structure_counts_and_properties(report: RunReport) -> None:
    root = ET.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root] == ["reference", "arroba", "broken"]
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "10",
        "1",
        "2",
        "2",
    )
    arroba = root[1]
    assert (arroba.get("tests"), arroba.get("failures"), arroba.get("errors")) == ("5", "1", "2")
    cases = _cases(root)
    assert len(cases) == 10  # 9 results + the not-run target
    failed = cases[("arroba", "test_error_envelope [arroba]")]
    assert failed.get("classname") == "suites.xrpc.test_errors"
    props = [(p.get("name"), p.get("value")) for p in failed.iter("property")]
    assert ("requirement", "XRPC-ERR-01") in props and ("requirement", "XRPC-ERR-02") in props
    assert ("target", "arroba") in props and ("level", "MUST") in props
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("expected status 400")
    assert "Evidence:" in (failure.text or "") and "com.atproto.unknown.method -> 500" in (failure.text or "")
    error = cases[("arroba", "test_create_record_cid [arroba]")].find("error")
    assert error is not None and "server crashed" in error.get("message", "")
    skipped = cases[("reference", "test_message_is_human [reference]")].find("skipped")
    assert skipped is not None and "humanMessages" in skipped.get("message", "")
    assert cases[("reference", "test_create_record_cid [reference]")].find("failure") is None
    nested = cases[("reference", "test_unknown_method[GET] [reference]")]
    assert nested.get("classname") == "suites.xrpc.test_errors.TestStatus"


def test_not_run_target_is_a_skipped_case_with_its_reason(report: RunReport) -> None:
    root = ET.fromstring(render_junit(report))
    broken = root[2]
    assert (broken.get("tests"), broken.get("skipped")) == ("1", "1")
    skipped = broken.find("testcase/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("unreachable:")


def test_control_characters_and_surrogates_stay_well_formed(report: RunReport) -> None:
    nasty = "nul\x00 bell\x07 esc\x1b[0m vt\x0b ff\x0c del\x7f lone\udcff fffe\ufffe ok\t\n end"
    report.results[2] = replace(report.results[2], message=nasty, test_id="suites/a.py::test_\x01odd")
    text = render_junit(report)
    text.encode("utf-8")  # no lone surrogate left
    root = ET.fromstring(text)
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("test_"))
    assert case is not None
    message = root.find(".//failure")
    assert message is not None
    assert (
        "\\x00" in (message.text or "")
        and "\\xdcff" in (message.text or "")
        and "ok\t\n end" in (message.text or "")
    )


def test_helpers() -> None:
    assert split_test_id("suites/repo/test_x.py::TestC::test_y[p::q]") == (
        "suites.repo.test_x.TestC",
        "test_y[p::q]",
    )
    assert split_test_id("suites/repo/test_x.py::test_y") == ("suites.repo.test_x", "test_y")
    assert split_test_id("loose") == ("atcheck", "loose")
    assert xml_safe("a\x00b\x1fc\ud800d") == "a\\x00b\\x1fc\\xd800d"


def test_known_failure_reads_as_skipped_with_the_failure_inside(report: RunReport) -> None:
    result = report.results[2]
    result.known_failure = "tracked upstream"
    root = ET.fromstring(render_junit(report))
    case = _cases(root)[("arroba", "test_error_envelope [arroba]")]
    assert case.find("failure") is None
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "atcheck.known_failure"
    assert "tracked upstream" in skipped.get("message", "") and "expected status 400" in (skipped.text or "")
    assert root[1].get("failures") == "0" and root[1].get("skipped") == "1"
