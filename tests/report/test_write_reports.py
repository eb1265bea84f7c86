"""write_reports: all four files, no secret in any of them, written atomically, reports/latest re-pointed."""

from __future__ import annotations

import html
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from atcheck.errors import SetupError
from atcheck.report.json_writer import validation_errors
from atcheck.report.model import RunReport
from atcheck.report.writer import BADGES_DIR, FILE_NAMES, write_reports


def _spellings(secret: str) -> set[str]:
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=True)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }


def test_writes_every_file(tmp_path: Path, report: RunReport, secrets: list[str]) -> None:
    out = tmp_path / "reports" / report.run_id
    written = write_reports(report, out, secrets=secrets)
    assert written == {kind: out / name for kind, name in FILE_NAMES.items()}
    for path in written.values():
        assert path.is_file() and path.stat().st_size > 0
    assert validation_errors(json.loads(written["json"].read_text(encoding="utf-8"))) == []
    ET.parse(written["junit"])
    assert written["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "| MUST |" in written["markdown"].read_text(encoding="utf-8")
    # no temp file left
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILE_NAMES.values(), BADGES_DIR])
    badges = sorted(p.name for p in (out / BADGES_DIR).iterdir())
    assert badges == ["arroba.svg", "broken.svg", "reference.svg"]


def test_no_secret_survives_in_any_file(
    tmp_path: Path, report: RunReport, secrets: list[str], all_secrets: list[str]
) -> None:
    written = write_reports(report, tmp_path / "run", secrets=secrets)
    planted = json.dumps(report.to_json(), default=str)
    for secret in all_secrets:
        assert secret in planted, f"fixture does not plant {secret!r}"
    for path in [*written.values(), *(tmp_path / "run" / BADGES_DIR).iterdir()]:
        data = path.read_bytes().decode("utf-8")
        if path.suffix == ".svg":
            assert all(s not in data for s in all_secrets) and "eyJ" not in data, path.name
            continue
        for secret in all_secrets:
            for form in _spellings(secret):
                assert form not in data, f"{path.name} leaks {form!r}"
        assert "eyJ" not in data, f"{path.name} leaks a JWT-looking string"
        assert "[redacted]" in data.replace("\\[redacted\\]", "[redacted]"), path.name  # md escapes [ ]


def test_original_report_is_not_modified(tmp_path: Path, report: RunReport, secrets: list[str]) -> None:
    before = json.dumps(report.to_json(), default=str)
    write_reports(report, tmp_path / "run", secrets=secrets)
    assert json.dumps(report.to_json(), default=str) == before


def test_short_secret_is_scrubbed_without_breaking_files(tmp_path: Path, report: RunReport) -> None:
    """A 3-letter secret is removed from the model; the text net skips it so JSON keys and tags survive."""
    report.results[2].message += " pin=xyz! code xyz"
    written = write_reports(report, tmp_path / "run", secrets=["xyz"])
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    assert validation_errors(data) == []
    assert "xyz" not in json.dumps(data)
    ET.parse(written["junit"])


def test_latest_link_points_at_the_newest_run_and_is_relative(tmp_path: Path, report: RunReport) -> None:
    reports = tmp_path / "reports"
    latest = reports / "latest"
    write_reports(report, reports / "run-1", latest_link=latest)
    assert latest.is_symlink() and os.readlink(latest) == "run-1"
    assert (latest / "report.json").is_file()
    write_reports(report, reports / "run-2", latest_link=latest)
    assert os.readlink(latest) == "run-2"
    assert latest.resolve() == (reports / "run-2").resolve()
    assert sorted(p.name for p in reports.iterdir()) == ["latest", "run-1", "run-2"]


def test_latest_that_is_a_real_directory_is_refused_clearly(tmp_path: Path, report: RunReport) -> None:
    latest = tmp_path / "latest"
    latest.mkdir()
    (latest / "keep.txt").write_text("mine")
    with pytest.raises(SetupError, match="not a symlink"):
        write_reports(report, tmp_path / "run", latest_link=latest)
    assert (latest / "keep.txt").read_text() == "mine"


def test_existing_files_are_replaced_whole(tmp_path: Path, report: RunReport) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.json").write_text("x" * 10_000_000)
    written = write_reports(report, out)
    assert json.loads(written["json"].read_text(encoding="utf-8"))["run_id"] == report.run_id


def test_unwritable_directory_is_a_one_line_error(tmp_path: Path, report: RunReport) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SetupError, match="cannot create the report directory"):
        write_reports(report, blocker / "run")
