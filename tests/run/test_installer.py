"""``atcheck setup``: which setup scripts each built-in target needs, read from its manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck import installer, paths
from atcheck.cli import main
from atcheck.errors import UsageError
from atcheck.installer import scripts_for


def test_each_script_once_in_first_needed_order() -> None:
    # The labeler runs on the reference's Node 22: its script comes after Node's, and Node's only once.
    assert scripts_for(["reference", "skyware-labeler"]) == [
        "scripts/setup-node.sh",
        "scripts/setup-labeler.sh",
    ]
    assert scripts_for(["arroba"]) == ["scripts/setup-arroba.sh"]


def test_an_unknown_name_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="known: arroba"):
        scripts_for(["bogus"])


def test_dry_run_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--dry-run", "indigo-relay"]) == 0
    assert capsys.readouterr().out == "indigo-relay: bash scripts/setup-relay.sh\n"


def test_an_unknown_name_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("atcheck: unknown built-in target 'nope'") and "\n" not in err


def test_a_failing_optional_default_is_reported_and_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``make setup``: without Go the relay is left out of a default setup; named, it is an error."""
    ran: list[str] = []

    def fake(script: str) -> str | None:
        ran.append(script)
        return "no Go" if script.endswith("setup-relay.sh") else None

    monkeypatch.setattr(installer, "run_script", fake)
    assert main(["setup"]) == 0
    assert ran == [f"scripts/setup-{n}.sh" for n in ("node", "arroba", "labeler", "relay")]
    assert "indigo-relay not installed (no Go)" in capsys.readouterr().out
    assert main(["setup", "indigo-relay"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "atcheck: indigo-relay: no Go"


def test_reports_of_an_installed_wheel_go_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "site-packages" / "atcheck" / "_data"
    monkeypatch.delenv("ATCHECK_REPORTS", raising=False)
    monkeypatch.setattr(paths, "project_root", lambda: data)
    monkeypatch.setattr(paths, "installed_data", lambda: data)
    monkeypatch.chdir(tmp_path)
    assert paths.reports_dir() == tmp_path / "reports"
    monkeypatch.setattr(paths, "installed_data", lambda: None)  # a checkout keeps its own reports/
    assert paths.reports_dir() == data / "reports"
