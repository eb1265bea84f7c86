"""report merge: shards join into one report in every format; incompatible shards are refused in one line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from atcheck import cli
from atcheck.report.json_writer import validation_errors
from atcheck.report.merge import catalogue_digest
from atcheck.report.model import RunReport, TargetInfo
from atcheck.report.writer import BADGES_DIR, FILE_NAMES, write_reports


def _split(report: RunReport) -> tuple[RunReport, RunReport]:
    """The sample run as two shards: reference's results in shard 1, the rest in shard 2."""
    idle = [replace(t, status="not-run", reason="no test needed it") for t in report.targets]
    one = replace(
        report,
        run_id="20261125T120000Z-aaaa",
        targets=[report.targets[0], *idle[1:]],
        results=[r for r in report.results if r.target == "reference"],
        environment={**report.environment, "shard": "1/2", "shard.groups": "reference/-"},
    )
    two = replace(
        report,
        run_id="20261125T120100Z-bbbb",
        started_at="2026-11-25T12:00:30Z",
        finished_at="2026-11-25T12:02:00Z",
        targets=[idle[0], *report.targets[1:]],
        results=[r for r in report.results if r.target != "reference"],
        environment={**report.environment, "shard": "2/2", "shard.groups": "arroba/-, broken/-"},
    )
    return one, two


def _write_shards(tmp_path: Path, report: RunReport) -> list[Path]:
    dirs = []
    for i, shard in enumerate(_split(report), start=1):
        out = tmp_path / f"shard-{i}"
        write_reports(shard, out)
        (out / "logs").mkdir()
        (out / "logs" / "reference-pds.log").write_text(f"log of shard {i}\n", encoding="utf-8")
        (out / "allure-results").mkdir()
        (out / "allure-results" / f"{i}-result.json").write_text("{}", encoding="utf-8")
        dirs.append(out)
    return dirs


def test_merged_report_equals_the_unsharded_run(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = tmp_path / "whole"
    write_reports(report, whole)
    shards = _write_shards(tmp_path, report)
    out = tmp_path / "merged"
    # exit 1: arroba fails MUST requirements (new failures), as `atcheck run` of the whole run would have
    assert cli.main(["report", "merge", *map(str, shards), "--out", str(out)]) == 1
    assert "merged 2 report(s)" in capsys.readouterr().out
    for name in FILE_NAMES.values():
        assert (out / name).is_file(), name
    merged = json.loads((out / "report.json").read_text(encoding="utf-8"))
    expected = json.loads((whole / "report.json").read_text(encoding="utf-8"))
    assert validation_errors(merged) == []
    key = lambda r: (r["target"], r["test_id"])  # noqa: E731
    assert sorted(merged["results"], key=key) == sorted(expected["results"], key=key)
    assert merged["matrix"] == expected["matrix"]
    assert merged["summary"]["targets"] == expected["summary"]["targets"]
    assert [(t["name"], t["status"]) for t in merged["targets"]] == [
        (t["name"], t["status"]) for t in expected["targets"]
    ]
    # the target that ran nowhere keeps its real reason, not "no test needed it"
    broken = next(t for t in merged["targets"] if t["name"] == "broken")
    assert broken["reason"] and "unreachable" in broken["reason"]
    assert merged["environment"]["shards"].startswith("1/2 (20261125T120000Z-aaaa), 2/2")
    assert merged["run_id"] == "20261125T120000Z-aaaa-merged"
    assert merged["started_at"] == "2026-11-25T12:00:00Z" and merged["finished_at"] == "2026-11-25T12:02:00Z"
    ET.parse(out / "junit.xml")
    assert sorted(p.name for p in (out / BADGES_DIR).iterdir()) == [
        "arroba.svg",
        "broken.svg",
        "reference.svg",
    ]
    assert (out / "logs" / "shard-1" / "reference-pds.log").read_text() == "log of shard 1\n"
    assert (out / "logs" / "shard-2" / "reference-pds.log").read_text() == "log of shard 2\n"
    assert sorted(p.name for p in (out / "allure-results").iterdir()) == ["1-result.json", "2-result.json"]


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("atcheck: ") and len(err.strip().splitlines()) == 1, err
    return err


def test_shards_of_different_catalogues_are_refused(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = _split(report)
    changed = [
        replace(r, statement=r.statement + " (reworded)") if i == 0 else r
        for i, r in enumerate(two.requirements)
    ]
    two = replace(two, requirements=changed, atcheck_version="0.2.0")
    assert catalogue_digest(one.requirements) != catalogue_digest(two.requirements)
    write_reports(one, tmp_path / "a")
    write_reports(two, tmp_path / "b")
    err = _refused(
        capsys, ["report", "merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "m")]
    )
    assert "different requirement catalogues" in err and "0.2.0" in err
    assert not (tmp_path / "m").exists()


def test_same_shard_twice_overlap_and_different_splits_are_refused(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = _split(report)
    write_reports(one, tmp_path / "a")
    write_reports(replace(one, run_id="other"), tmp_path / "a2")
    write_reports(replace(two, environment={"shard": "2/3"}), tmp_path / "c")
    write_reports(replace(one, environment={}), tmp_path / "plain")
    out = str(tmp_path / "m")
    assert "shard 1 given twice" in _refused(
        capsys, ["report", "merge", str(tmp_path / "a"), str(tmp_path / "a2"), "--out", out]
    )
    assert "split the run differently" in _refused(
        capsys, ["report", "merge", str(tmp_path / "a"), str(tmp_path / "c"), "--out", out]
    )
    assert "overlapping shards" in _refused(
        capsys, ["report", "merge", str(tmp_path / "a"), str(tmp_path / "plain"), "--out", out]
    )
    assert "no report.json" in _refused(capsys, ["report", "merge", str(tmp_path / "nothing"), "--out", out])


def test_a_missing_shard_is_merged_with_a_warning(
    tmp_path: Path, report: RunReport, capsys: pytest.CaptureFixture[str]
) -> None:
    one, _two = _split(report)
    write_reports(one, tmp_path / "a")
    assert (
        cli.main(["report", "merge", str(tmp_path / "a"), "--out", str(tmp_path / "m")]) == 0
    )  # reference passed
    assert "shard(s) 2 of 2 missing" in capsys.readouterr().err
    merged = json.loads((tmp_path / "m" / "report.json").read_text(encoding="utf-8"))
    assert {r["target"] for r in merged["results"]} == {"reference"}


def test_target_status_prefers_ran(report: RunReport) -> None:
    from atcheck.report.merge import ShardReport, merge_reports

    a = replace(
        report,
        targets=[TargetInfo("x", "i", "1", ["pds"], "process", status="not-run", reason="no test needed it")],
        results=[],
    )
    b = replace(report, targets=[TargetInfo("x", "i", "1", ["pds"], "process")], results=[])
    merged = merge_reports([ShardReport(Path("a"), a), ShardReport(Path("b"), b)])
    assert [(t.name, t.status) for t in merged.targets] == [("x", "ran")]
