"""``atcheck setup``: which setup scripts each built-in target needs, read from its manifest."""

from __future__ import annotations

import pytest

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
