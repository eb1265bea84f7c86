"""junit.xml: the run for CI systems that read JUnit XML (GitLab, Jenkins, GitHub test-report actions).

One ``<testsuite>`` per target and one ``<testcase>`` per (test, target), so a CI's test view shows the same
test once per implementation. ``classname`` is the test's module path (``suites.repo.test_records``, plus the
class if any), the requirement IDs, target and level go in ``<properties>``. A target that did not run is one
skipped testcase carrying its reason, so that it cannot go unnoticed. A known failure (expected by the
baseline) is written as pytest writes an xfail, a ``<skipped>`` with the failure inside, so that a CI's
verdict agrees with atcheck's exit status.

Servers under test put anything in messages, including characters XML 1.0 cannot carry at all (NUL, most C0
controls, lone surrogates): those become visible ``\\xNN`` escapes, so the file is always well-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from atcheck.report.clip import clip, first_line
from atcheck.report.model import Outcome, RunReport, TestResult
from atcheck.report.summary import known_failure

MESSAGE_LIMIT = 16_000
EXCHANGES_LISTED = 10

# Characters outside XML 1.0's Char production (surrogates included: they cannot be encoded anyway).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by a visible escape."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def split_test_id(test_id: str) -> tuple[str, str]:
    """``suites/repo/test_x.py::TestC::test_y[p]`` -> (``suites.repo.test_x.TestC``, ``test_y[p]``)."""
    path, sep, rest = test_id.partition("::")
    if not sep:
        return "atcheck", test_id
    module = path.removesuffix(".py").replace("/", ".").replace("\\", ".")
    bracket = rest.find("[")
    head, params = (rest, "") if bracket < 0 else (rest[:bracket], rest[bracket:])  # params may hold "::"
    *classes, name = head.split("::")
    return ".".join([module, *classes]), name + params


def _evidence_text(result: TestResult) -> str:
    lines = []
    shown = result.evidence[-EXCHANGES_LISTED:]
    skipped = len(result.evidence) - len(shown)
    if skipped:
        lines.append(f"({skipped} earlier exchange(s) omitted)")
    for ex in shown:
        status = "no response" if ex.status is None else str(ex.status)
        lines.append(f"{ex.method} {ex.url} -> {status}")
    return "\n".join(lines)


def _case(parent: ET.Element, result: TestResult) -> None:
    classname, name = split_test_id(result.test_id)
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(classname),
        name=xml_safe(f"{name} [{result.target}]"),
        time=f"{max(result.duration_s, 0.0):.3f}",
    )
    props = ET.SubElement(case, "properties")
    ET.SubElement(props, "property", name="target", value=xml_safe(result.target))
    ET.SubElement(props, "property", name="level", value=xml_safe(result.level))
    for req_id in result.requirement_ids:
        ET.SubElement(props, "property", name="requirement", value=xml_safe(req_id))
    if result.seed:
        ET.SubElement(props, "property", name="seed", value=xml_safe(result.seed))
    message = clip(result.message, MESSAGE_LIMIT)
    known = known_failure(result) if result.outcome in (Outcome.FAILED, Outcome.ERROR) else None
    if known:
        # Expected by the baseline: shown as pytest shows an xfail, so CI is as green as the exit status.
        ET.SubElement(props, "property", name="known_failure", value=xml_safe(known))
        skipped = ET.SubElement(
            case,
            "skipped",
            type="atcheck.known_failure",
            message=xml_safe(first_line(f"known failure: {known}", 500)),
        )
        skipped.text = xml_safe(f"{result.outcome}: {message}")
        return
    tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.SKIPPED: "skipped"}.get(result.outcome)
    if tag is None:
        return
    element = ET.SubElement(case, tag, message=xml_safe(first_line(message, 500)))
    if tag != "skipped":
        element.set("type", "AssertionError" if tag == "failure" else "Error")
        evidence = _evidence_text(result)
        element.text = xml_safe(message + (f"\n\nEvidence:\n{evidence}" if evidence else ""))


def render_junit(report: RunReport) -> str:
    """junit.xml's text (already redacted by the caller; see :mod:`atcheck.report.writer`)."""
    by_target: dict[str, list[TestResult]] = {t.name: [] for t in report.targets}
    for result in report.results:
        by_target.setdefault(result.target, []).append(result)
    reasons = {t.name: t.reason for t in report.targets if t.status != "ran"}

    root = ET.Element("testsuites", name=xml_safe(f"atcheck {report.run_id}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for target_name, results in by_target.items():
        suite = ET.SubElement(
            root, "testsuite", name=xml_safe(target_name), timestamp=xml_safe(report.started_at)
        )
        new = [r for r in results if not known_failure(r)]
        counts = {
            "tests": len(results),
            "failures": sum(r.outcome == Outcome.FAILED for r in new),
            "errors": sum(r.outcome == Outcome.ERROR for r in new),
            "skipped": len(results) - len(new) + sum(r.outcome == Outcome.SKIPPED for r in new),
        }
        time = sum(max(r.duration_s, 0.0) for r in results)
        for result in results:
            _case(suite, result)
        if target_name in reasons:
            case = ET.SubElement(
                suite, "testcase", classname="atcheck.targets", name=xml_safe(f"{target_name} [not run]")
            )
            ET.SubElement(
                case,
                "skipped",
                message=xml_safe(first_line(reasons[target_name] or "target did not run", 500)),
            )
            counts["tests"] += 1
            counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{time:.3f}")
        total_time += time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
