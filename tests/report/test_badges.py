"""Badges: one self-contained SVG per target, the MUST pass ratio over judged requirements, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from atcheck.report.badges import badge_file_name, must_ratios, render_badge, render_badges
from atcheck.report.model import RunReport, TargetInfo
from atcheck.report.writer import BADGES_DIR, write_reports

SVG = "{http://www.w3.org/2000/svg}"


def test_ratio_counts_judged_must_requirements_only(report: RunReport) -> None:
    ratios = {r.target: r for r in must_ratios(report)}
    # reference: XRPC-ERR-01 and REPO-CID-01 passed; SYNC-FH-03 is untested, so not judged.
    assert (ratios["reference"].passed, ratios["reference"].judged) == (2, 2)
    assert ratios["reference"].text == "2/2 (100%)" and ratios["reference"].colour == "#4c1"
    # arroba: XRPC-ERR-01 failed, REPO-CID-01 errored.
    assert (ratios["arroba"].passed, ratios["arroba"].judged) == (0, 2)
    assert ratios["arroba"].colour == "#e05d44"
    assert ratios["broken"].text == "not run" and ratios["broken"].ratio is None


def test_badges_are_valid_self_contained_svg(report: RunReport) -> None:
    badges = render_badges(report)
    assert sorted(badges) == ["arroba.svg", "broken.svg", "reference.svg"]
    for name, svg in badges.items():
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg", name
        assert "http" not in svg.replace("http://www.w3.org/2000/svg", ""), f"{name} refers to the network"
        assert "<script" not in svg and "href" not in svg.replace("url(#", "")
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert any(t and "MUST" in t for t in texts)


def test_hostile_target_name_is_escaped_and_file_name_safe(report: RunReport) -> None:
    hostile = '<script>alert(1)</script>/../x"y'
    targets = [replace(report.targets[0], name=hostile)]
    badges = render_badges(replace(report, targets=targets, results=[]))
    ((name, svg),) = badges.items()
    assert "/" not in name and not name.startswith(".")
    ET.fromstring(svg)  # still well-formed
    assert "<script>" not in svg


def test_same_sanitised_name_gets_two_files(report: RunReport) -> None:
    a = TargetInfo("a/b", "x", "1", ["pds"], "url")
    b = TargetInfo("a:b", "x", "1", ["pds"], "url")
    badges = render_badges(replace(report, targets=[a, b], results=[]))
    assert len(badges) == 2
    assert badge_file_name("reference@container") == "reference@container.svg"


def test_width_grows_with_text() -> None:
    short = ET.fromstring(render_badge("x", "1/1 (100%)", "#4c1"))
    long = ET.fromstring(render_badge("a-much-longer-target-name MUST", "1/1 (100%)", "#4c1"))
    assert int(long.get("width", "0")) > int(short.get("width", "0"))


def test_written_with_every_report(tmp_path: Path, report: RunReport) -> None:
    write_reports(report, tmp_path / "run")
    svg = (tmp_path / "run" / BADGES_DIR / "reference.svg").read_text(encoding="utf-8")
    assert "2/2 (100%)" in svg
