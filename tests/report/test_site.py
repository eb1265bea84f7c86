"""report site: an index across implementations and versions, a page per run, relative links only."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from atcheck import cli
from atcheck.report.model import RunReport
from atcheck.report.writer import write_reports


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "img":
            self.images.append(str(a.get("src")))
        if tag == "script":
            self.scripts += 1


def _links(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _runs(tmp_path: Path, report: RunReport) -> Path:
    """reports/ with two versions of the reference (a newer run, an older one) and a `latest` link."""
    root = tmp_path / "reports"
    newer = report
    older = replace(
        report,
        run_id="20261001T090000Z-0001",
        started_at="2026-10-01T09:00:00Z",
        targets=[replace(report.targets[0], version="0.4.9"), *report.targets[1:]],
    )
    write_reports(newer, root / newer.run_id, latest_link=root / "latest")
    write_reports(older, root / older.run_id)
    return root


def test_site_lists_every_implementation_version_and_links_relatively(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _runs(tmp_path, report)
    site = tmp_path / "site"
    assert cli.main(["report", "site", str(root), "--out", str(site)]) == 0
    assert "site of 2 run(s)" in capsys.readouterr().out
    index = site / "index.html"
    text = index.read_text(encoding="utf-8")
    # Both versions of the reference, newest run first; the `latest` link is not a third run.
    assert text.count("@atproto/pds") == 2 and "0.4.9" in text and "0.5.1" in text
    assert text.index(report.run_id) < text.index("20261001T090000Z-0001")
    runs_section = text.split("<h2>Runs</h2>", 1)[1]
    assert runs_section.index(report.run_id) < runs_section.index("20261001T090000Z-0001")
    assert "2/2" in text  # reference's MUST ratio
    pages = [index, *sorted(site.glob("runs/*/index.html"))]
    assert len(pages) == 3
    for page in pages:
        parsed = _links(page)
        assert parsed.scripts == 0
        assert all(src.startswith("data:image/svg+xml;base64,") for src in parsed.images)
        for href in parsed.links:
            assert not urlsplit(href).scheme and not href.startswith("/"), (
                href
            )  # relative, works from file://
            target = (page.parent / href).resolve()
            assert target.exists(), f"{page}: {href} is broken"
    run_dir = site / "runs" / re.sub(r"[^A-Za-z0-9_.+-]+", "_", report.run_id)
    for name in ("report.html", "report.json", "badges/reference.svg"):
        assert (run_dir / name).is_file(), name


def test_hostile_strings_are_escaped(tmp_path: Path, report: RunReport, hostile: str) -> None:
    write_reports(report, tmp_path / "run")
    site = tmp_path / "site"
    assert cli.main(["report", "site", str(tmp_path / "run" / "report.json"), "--out", str(site)]) == 0
    for page in site.rglob("index.html"):
        assert hostile not in page.read_text(encoding="utf-8")


def test_a_run_without_report_html_gets_one_rendered(tmp_path: Path, report: RunReport) -> None:
    write_reports(report, tmp_path / "run")
    (tmp_path / "run" / "report.html").unlink()
    assert cli.main(["report", "site", str(tmp_path / "run"), "--out", str(tmp_path / "site")]) == 0
    (page,) = (tmp_path / "site" / "runs").glob("*/report.html")
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_nothing_to_publish_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    for arg in (tmp_path / "empty", tmp_path / "missing"):
        assert cli.main(["report", "site", str(arg), "--out", str(tmp_path / "site")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("atcheck: ") and len(err.strip().splitlines()) == 1
