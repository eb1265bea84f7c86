"""report.json: valid against schemas/report.schema.json, with the matrix and summary derived right."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from atcheck.errors import UsageError
from atcheck.report import json_writer
from atcheck.report.json_writer import read_report, render_json, report_json, validation_errors
from atcheck.report.model import Exchange, Outcome, RunReport
from atcheck.report.model import TestResult as Result


def test_sample_report_is_schema_valid(report: RunReport) -> None:
    data = json.loads(render_json(report))
    assert validation_errors(data) == []
    assert data["format_version"] == 1
    assert len(data["results"]) == len(report.results)
    assert {r["outcome"] for r in data["results"]} == {"passed", "failed", "skipped", "error"}


def test_schema_rejects_what_it_should(report: RunReport) -> None:
    """A validator that accepts everything proves nothing: break the document in several ways."""
    good = report_json(report)
    bad_outcome = json.loads(json.dumps(good))
    bad_outcome["results"][0]["outcome"] = "flaky"
    assert any("results/0/outcome" in e for e in validation_errors(bad_outcome))

    missing = json.loads(json.dumps(good))
    del missing["targets"][0]["version"]
    assert any("targets/0" in e and "version" in e for e in validation_errors(missing))

    extra = json.loads(json.dumps(good))
    extra["results"][0]["surprise"] = 1
    assert validation_errors(extra)

    bad_time = json.loads(json.dumps(good))
    bad_time["started_at"] = "yesterday"
    assert any(e.startswith("started_at") for e in validation_errors(bad_time))

    bad_verdict = json.loads(json.dumps(good))
    bad_verdict["matrix"]["XRPC-ERR-01"]["reference"] = "fine"
    assert validation_errors(bad_verdict)


def test_matrix_content(report: RunReport) -> None:
    matrix = report_json(report)["matrix"]
    assert matrix["XRPC-ERR-01"] == {"reference": "passed", "arroba": "failed", "broken": "not-run"}
    assert matrix["XRPC-ERR-02"] == {"reference": "skipped", "arroba": "failed", "broken": "not-run"}
    assert matrix["REPO-CID-01"] == {"reference": "passed", "arroba": "error", "broken": "not-run"}
    assert matrix["SYNC-FH-03"] == {"reference": "untested", "arroba": "untested", "broken": "untested"}
    assert matrix["SYN-TID-01"] == {"reference": "not-run", "arroba": "passed", "broken": "not-run"}


def test_summary_counts_and_coverage(report: RunReport) -> None:
    summary = report_json(report)["summary"]
    assert summary["coverage"] == {"requirements": 5, "tested": 4, "ratio": 0.8}
    assert summary["must_failed"] is True
    arroba = summary["targets"]["arroba"]
    assert arroba["outcomes"] == {"passed": 2, "failed": 1, "error": 2, "skipped": 0}
    assert arroba["verdicts"]["MUST"] == {
        "passed": 0,
        "failed": 1,
        "error": 1,
        "skipped": 0,
        "untested": 1,
        "not-run": 0,
    }
    assert arroba["must_failed"] is True
    reference = summary["targets"]["reference"]
    assert reference["must_failed"] is False
    assert reference["verdicts"]["MUST"]["passed"] == 2
    assert reference["verdicts"]["MAY"]["not-run"] == 1
    broken = summary["targets"]["broken"]
    assert broken["status"] == "not-run" and "unreachable" in broken["reason"]
    assert broken["outcomes"] == {"passed": 0, "failed": 0, "error": 0, "skipped": 0}


def test_huge_bodies_and_messages_are_clipped_with_a_marker(
    report: RunReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_writer, "BODY_LIMIT", 100)
    monkeypatch.setattr(json_writer, "MESSAGE_LIMIT", 50)
    big = Result(
        "suites/x.py::test_big",
        "reference",
        ["XRPC-ERR-01"],
        "MUST",
        Outcome.FAILED,
        message="m" * 500,
        evidence=[Exchange("GET", "http://127.0.0.1/", 200, response_body="b" * 10_000)],
    )
    data = report_json(replace(report, results=[*report.results, big]))
    written = data["results"][-1]
    assert written["message"].startswith("m" * 50) and "450 more characters" in written["message"]
    assert len(written["evidence"][0]["response_body"]) < 200
    assert "9900 more characters" in written["evidence"][0]["response_body"]
    assert validation_errors(data) == []


def test_empty_run_is_valid() -> None:
    empty = RunReport("0.1.0", "run-0", "2026-11-25T12:00:00Z", "2026-11-25T12:00:00Z", 0.0, [], [], [])
    data = report_json(empty)
    assert validation_errors(data) == []
    assert data["summary"]["coverage"] == {"requirements": 0, "tested": 0, "ratio": 0.0}
    assert data["summary"]["must_failed"] is False


def test_round_trip_through_report_json(tmp_path: Path, report: RunReport, secrets: list[str]) -> None:
    from atcheck.report.redact import Redactor
    from atcheck.report.writer import write_reports

    written = write_reports(report, tmp_path / "run", secrets=secrets)
    back = read_report(written["json"])
    assert back.to_json() == Redactor(secrets).report(report).to_json()
    assert all(isinstance(r.outcome, Outcome) for r in back.results)
    assert render_json(back) == written["json"].read_text(encoding="utf-8")


def test_reading_something_else_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "report.json"
    for text in ("not json", "[1, 2]", '{"results": [{"outcome": "weird"}]}', '{"run_id": "x"}'):
        bad.write_text(text)
        with pytest.raises(UsageError, match="report"):
            read_report(bad)
