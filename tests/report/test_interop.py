"""The interop matrix: peers and direction from a test's fixtures and marker; cells per scenario and pair.

Hand-made results on top of the sample run: a migration (reference -> reference#2 passes, reference -> arroba
fails new), and federation into a relay from two PDSes, where one multi-pair failure names only its pair, one
is known to the baseline, and one was skipped.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import pytest

from atcheck.pytest_plugin.peers import interop_of, marker_problem, peers_of
from atcheck.report.html import render_html
from atcheck.report.interop import interop_matrix, tagged_pairs
from atcheck.report.json_writer import read_report, render_json, report_json, validation_errors
from atcheck.report.markdown import render_markdown
from atcheck.report.model import Interop, Outcome, RunReport
from atcheck.report.model import TestResult as Result
from atcheck.suite.target import TargetUnderTest
from atcheck.suite.upstreams import Upstream
from atcheck.xrpc.client import EvidenceRecorder

T_MOVE = "suites/migration/test_migration.py::test_every_record_arrives_with_its_cid"
T_CROSS = "suites/migration/test_migration.py::test_an_account_moves_to_another_implementation"
T_ONCE = (
    "suites/federation/test_relay_federation.py::test_every_pds_commit_comes_out_of_the_relay_exactly_once"
)
T_ORDER = "suites/federation/test_relay_federation.py::test_the_relay_keeps_each_repos_commit_order"
T_HOSTS = "suites/federation/test_relay_federation.py::test_relay_list_hosts_names_each_pds"
T_STATUS = "suites/federation/test_relay_account_status.py::test_the_relay_repo_status_follows_the_pds"
FED = Interop("federation", ["reference", "arroba"], ["relay"])


def _interop_results() -> list[Result]:
    return [
        Result(
            T_MOVE, "reference", ["MIG-03"], "MUST", Outcome.PASSED, peers=["reference#2"],
            interop=Interop("migration", ["reference"], ["reference#2"]),
        ),
        Result(
            T_CROSS, "reference", ["MIG-01"], "MUST", Outcome.FAILED, message="reference -> arroba: step 3",
            peers=["arroba"], interop=Interop("migration", ["reference"], ["arroba"]),
        ),
        Result(
            T_ONCE, "relay", ["SYNC-FH-03"], "MUST", Outcome.FAILED, peers=["reference", "arroba"],
            message="every PDS's events: [arroba -> relay] commit 3 of did:plc:x never came out",
            interop=FED,
        ),
        Result(
            T_ORDER, "relay", ["SYNC-FH-03"], "MUST", Outcome.PASSED, peers=["reference", "arroba"],
            interop=FED,
        ),
        Result(
            T_HOSTS, "relay", ["SYNC-FH-03"], "MUST", Outcome.FAILED, message="listHosts answered 500",
            known_failure="the relay's listHosts is not implemented", peers=["reference", "arroba"],
            interop=FED,
        ),
        Result(
            T_STATUS, "relay", ["SYNC-FH-03"], "MUST", Outcome.SKIPPED, message="no PDS can deactivate",
            peers=["reference", "arroba"], interop=FED,
        ),
    ]  # fmt: skip


@pytest.fixture
def interop_report(report: RunReport) -> RunReport:
    report.results += _interop_results()
    return report


# -- peers and direction, from a test's fixtures -------------------------------------------------------------


def _tut(name: str) -> TargetUnderTest:
    return TargetUnderTest(
        name=name, manifest=cast(Any, None), running=cast(Any, None), recorder=EvidenceRecorder()
    )


def _item(funcargs: dict[str, Any], mark: Any = None) -> Any:
    """Just what :mod:`atcheck.pytest_plugin.peers` reads of a pytest item."""
    return SimpleNamespace(
        funcargs=funcargs,
        fixturenames=list(funcargs),
        get_closest_marker=lambda name: mark if name == "interop" else None,
    )


def test_peers_are_every_other_target_the_fixtures_handed_out() -> None:
    upstreams = [
        Upstream(_tut("reference"), lambda: cast(Any, None)),
        Upstream(_tut("arroba"), lambda: cast(Any, None)),
    ]
    item = _item(
        {"target": _tut("relay"), "upstreams": upstreams, "relay": object(), "twin": _tut("relay#2")}
    )
    assert peers_of(item, "relay") == ["reference", "arroba", "relay#2"]
    assert peers_of(_item({"target": _tut("reference"), "pds": object()}), "reference") == []


def test_the_interop_marker_resolves_fixture_names_to_run_names() -> None:
    mark = pytest.mark.interop("migration", producer="target", consumer="peer").mark
    item = _item({"target": _tut("reference"), "peer": _tut("arroba")}, mark)
    assert marker_problem(item) is None
    assert interop_of(item) == Interop("migration", ["reference"], ["arroba"])
    skipped_early = _item({"target": _tut("reference")}, mark)  # the peer fixture gave no value
    skipped_early.fixturenames.append("peer")
    assert marker_problem(skipped_early) is None
    assert interop_of(skipped_early) is None  # no pair: the result stays out of the matrix
    assert interop_of(_item({"target": _tut("reference")})) is None  # no marker


@pytest.mark.parametrize(
    "mark",
    [
        pytest.mark.interop(producer="target", consumer="peer").mark,
        pytest.mark.interop("migration", producer="target").mark,
        pytest.mark.interop("migration", producer="target", consumer="nope").mark,
    ],
)
def test_a_wrong_interop_marker_is_a_collection_problem(mark: Any) -> None:
    problem = marker_problem(_item({"target": _tut("reference"), "peer": _tut("arroba")}, mark))
    assert problem is not None and "\n" not in problem


# -- the matrix ----------------------------------------------------------------------------------------------


def test_results_without_peers_stay_out_of_the_matrix(report: RunReport) -> None:
    assert all(r.peers == [] and r.interop is None for r in report.results)
    assert interop_matrix(report) == []
    assert "id='interop'" not in render_html(report)
    assert "Interop" not in render_markdown(report)
    assert report_json(report)["interop"] == []


def test_matrix_cells_per_scenario_and_pair(interop_report: RunReport) -> None:
    scenarios = {s.name: s for s in interop_matrix(interop_report)}
    assert list(scenarios) == ["migration", "federation"]
    migration = scenarios["migration"]
    assert migration.producers == ["reference"] and migration.consumers == ["reference#2", "arroba"]
    assert migration.cells[("reference", "reference#2")].counts == {
        "passed": 1, "failed": 0, "known": 0, "error": 0, "skipped": 0,
    }  # fmt: skip
    fed = scenarios["federation"]
    assert fed.producers == ["reference", "arroba"] and fed.consumers == ["relay"]
    # T_ONCE names only [arroba -> relay]: the reference's pair passed that check.
    assert fed.cells[("reference", "relay")].counts == {
        "passed": 2, "failed": 0, "known": 1, "error": 0, "skipped": 1,
    }  # fmt: skip
    assert fed.cells[("arroba", "relay")].counts == {
        "passed": 1, "failed": 1, "known": 1, "error": 0, "skipped": 1,
    }  # fmt: skip
    first = interop_report.results[fed.cells[("arroba", "relay")].results[0]]
    assert first.test_id == T_ONCE  # a new failure is listed (and linked) first


def test_a_failure_shows_as_a_failure_in_its_cell(interop_report: RunReport) -> None:
    scenarios = {s.name: s for s in interop_matrix(interop_report)}
    cell = scenarios["migration"].cells[("reference", "arroba")]
    assert cell.counts["failed"] == 1 and cell.worst == "failed"
    assert scenarios["migration"].cells[("reference", "reference#2")].worst == "passed"
    assert scenarios["federation"].cells[("reference", "relay")].worst == "known"

    index = next(i for i, r in enumerate(interop_report.results) if r.test_id == T_CROSS)
    page = render_html(interop_report)
    section = page[
        page.index("<section id='interop'>") : page.index("</section>", page.index("id='interop'"))
    ]
    assert "<h3>migration</h3>" in section and "<h3>federation</h3>" in section
    assert f'<a class="v v-failed" href="#f-{index}"' in section
    assert f"id='f-{index}'" in page  # the link lands on the failure's evidence

    md = render_markdown(interop_report)
    assert "### Interop: producer (row) x consumer (column)" in md
    assert f"| reference | 1 pass | [1 FAIL](report.html#f-{index}) |" in md
    assert "| arroba | 1 pass · [1 FAIL]" in md


def test_untagged_multi_pair_failure_is_charged_to_every_pair(interop_report: RunReport) -> None:
    once = next(r for r in interop_report.results if r.test_id == T_ONCE)
    once.message = "the relay crashed"  # no pair named
    fed = {s.name: s for s in interop_matrix(interop_report)}["federation"]
    assert fed.cells[("reference", "relay")].counts["failed"] == 1
    assert fed.cells[("arroba", "relay")].counts["failed"] == 1
    assert tagged_pairs("x [a -> b] y; [c#2 -> d] [not a pair]") == {("a", "b"), ("c#2", "d")}


def test_the_schema_accepts_peers_and_the_matrix(interop_report: RunReport, tmp_path: Any) -> None:
    data = json.loads(render_json(interop_report))
    assert validation_errors(data) == []
    assert data["results"][-1]["peers"] == ["reference", "arroba"]
    assert data["results"][-1]["interop"] == {
        "scenario": "federation", "producers": ["reference", "arroba"], "consumers": ["relay"],
    }  # fmt: skip
    assert data["results"][0]["peers"] == [] and data["results"][0]["interop"] is None
    cells = {(c["producer"], c["consumer"]): c for s in data["interop"] for c in s["cells"]}
    assert cells[("reference", "arroba")]["failed"] == 1
    assert cells[("reference", "arroba")]["results"] == [
        {"test_id": T_CROSS, "target": "reference", "counted": "failed"}
    ]
    bad = json.loads(json.dumps(data))
    bad["results"][-1]["interop"] = {"scenario": "federation"}
    assert validation_errors(bad)
    bad = json.loads(json.dumps(data))
    bad["interop"][0]["cells"][0]["failed"] = -1
    assert validation_errors(bad)

    path = tmp_path / "report.json"
    path.write_text(render_json(interop_report), encoding="utf-8")
    again = read_report(path)
    assert again.results[-1].interop == FED and again.results[-1].peers == ["reference", "arroba"]

    old = json.loads(json.dumps(data))  # a report written before the interop fields existed
    del old["interop"]
    for result in old["results"]:
        del result["peers"], result["interop"]
    assert validation_errors(old) == []
