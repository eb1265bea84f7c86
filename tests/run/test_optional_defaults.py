"""An optional default target (the relay, built with Go) that cannot run here is reported, not fatal.

A default run includes indigo-relay. On a machine where scripts/setup-relay.sh could not install it, the run
leaves it out and reports it as not run with the setup script's reason; the other targets are checked and
the exit status does not change. Named explicitly, the same target is a setup error, as any target is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atcheck import cli, tools
from atcheck.errors import SetupError
from atcheck.run import Run
from atcheck.targets.spec import DEFAULT_TARGETS, OPTIONAL_DEFAULTS, parse_targets, unavailable_reason

REASON = "the indigo relay (built with Go) is not installed (no Go here)"


@pytest.fixture
def no_relay(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every tool is installed except the relay."""

    def missing(names: tuple[str, ...]) -> str | None:
        return REASON if "indigo_relay" in names else None

    monkeypatch.setattr(tools, "missing_tools", missing)
    yield


def test_the_relay_is_an_optional_default_only_when_not_named() -> None:
    assert "indigo-relay" in DEFAULT_TARGETS and set(DEFAULT_TARGETS) >= OPTIONAL_DEFAULTS
    defaults = parse_targets([])
    assert defaults["indigo-relay"].optional and not defaults["reference"].optional
    assert not parse_targets(["indigo-relay"])["indigo-relay"].optional


def test_a_relay_that_is_not_installed_cannot_run(no_relay: None) -> None:
    assert unavailable_reason(parse_targets([])["indigo-relay"]) == REASON
    assert unavailable_reason(parse_targets([])["reference"]) is None


def test_the_report_says_why_it_did_not_run(no_relay: None, tmp_path: Path) -> None:
    the_run = Run.create((), tmp_path / "report", tmp_path)
    try:
        assert "indigo-relay" not in the_run.targets and "reference" in the_run.targets
        infos = {info.name: info for info in the_run.target_infos()}
        relay = infos["indigo-relay"]
        assert relay.status == "not-run" and relay.reason is not None
        assert REASON in relay.reason and "optional" in relay.reason
        assert relay.roles == ["relay"]
    finally:
        the_run.close()


def test_preflight_goes_on_without_it_but_not_when_it_is_named(no_relay: None) -> None:
    cli.preflight(parse_targets([]).values())  # no error: the default run goes on without the relay
    with pytest.raises(SetupError, match=r"target indigo-relay: .*not installed"):
        cli.preflight(parse_targets(["indigo-relay"]).values())


def test_the_container_launcher_leaves_it_out() -> None:
    assert "indigo-relay@container" not in parse_targets([], launcher="container")


def test_an_installed_relay_is_part_of_the_default_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tools, "missing_tools", lambda names: None)
    the_run = Run.create((), tmp_path / "report", tmp_path)
    try:
        assert "indigo-relay" in the_run.targets and not the_run.unavailable
    finally:
        the_run.close()
