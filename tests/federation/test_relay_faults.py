"""The federation suite catches a broken relay: one that drops, repeats or swaps commits.

A pytest session in a subprocess runs the federation suite's stream tests against the reference PDS and four
fake relays (tests/fakes/fake_relay.py), each following that PDS: one faithful (the control, which must
pass) and three with one fault each. Each fault must fail the test that is about it, with a message that
says what went wrong, and leave the others alone. Skipped when the reference PDS is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from atcheck.tools import missing_tools

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "fakes" / "fake_relay.py"
STREAM_TESTS = "exactly_once or commit_order or resequences"
ONCE = "test_every_pds_commit_comes_out_of_the_relay_exactly_once"
ORDER = "test_the_relay_keeps_each_repos_commit_order"
SEQ = "test_the_relay_resequences_with_increasing_seq"

#: (target, test function) -> that result in report.json.
Verdicts = dict[tuple[str, str], dict[str, Any]]


def _relay_manifest(tmp_path: Path, fault: str) -> Path:
    path = tmp_path / f"relay-{fault}.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "relay-{fault}"
            implementation = "fake relay ({fault})"
            version = "0"
            provisioning = "given"

            [[service]]
            name = "relay"
            roles = ["relay"]
            needs = ["plc"]
            needs_all = ["pds"]
            health = {{ path = "/xrpc/_health", timeout = 20 }}
            [service.process]
            command = ["{{python}}", "{FAKE}"]
            env = {{ PORT = "{{port}}", FAULT = "{fault}", ATCHECK_RELAY_UPSTREAMS = "{{all:pds.url}}" }}
            """
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Verdicts:
    problem = missing_tools(("node22", "reference_dir"))
    if problem:
        pytest.skip(problem)
    tmp_path = tmp_path_factory.mktemp("faults")
    targets = ["--atcheck-target", "reference"]
    for fault in ("ok", "drop", "dup", "swap"):
        targets += ["--atcheck-target", str(_relay_manifest(tmp_path, fault))]
    out = tmp_path / "report"
    env = {**os.environ, "ATCHECK_HOME": str(ROOT)}
    env.pop("ATCHECK_TARGETS", None)
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "suites" / "federation"), "-k", STREAM_TESTS,
            "-p", "no:cacheprovider", "-q", *targets, "--atcheck-report-dir", str(out),
        ],
        capture_output=True, text=True, env=env, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip
    report_path = out / "report.json"
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    return {(r["target"], r["test_id"].split("::")[-1]): r for r in report["results"]}


def _outcome(verdicts: Verdicts, target: str, test: str) -> str:
    return str(verdicts[(target, test)]["outcome"])


def test_a_faithful_relay_passes(verdicts: Verdicts) -> None:
    for test in (ONCE, ORDER, SEQ):
        assert _outcome(verdicts, "relay-ok", test) == "passed", verdicts[("relay-ok", test)]["message"]


def test_a_relay_that_drops_commits_fails_exactly_once(verdicts: Verdicts) -> None:
    result = verdicts[("relay-drop", ONCE)]
    assert result["outcome"] == "failed" and "missing" in result["message"], result["message"]
    assert "[reference -> relay-drop]" in result["message"]
    assert _outcome(verdicts, "relay-drop", SEQ) == "passed"


def test_a_relay_that_repeats_commits_fails(verdicts: Verdicts) -> None:
    result = verdicts[("relay-dup", ONCE)]
    assert result["outcome"] == "failed" and "repeated" in result["message"], result["message"]
    assert _outcome(verdicts, "relay-dup", SEQ) == "passed"


def test_a_relay_that_swaps_neighbours_fails_the_order(verdicts: Verdicts) -> None:
    assert _outcome(verdicts, "relay-swap", ONCE) == "passed", verdicts[("relay-swap", ONCE)]["message"]
    result = verdicts[("relay-swap", ORDER)]
    assert result["outcome"] == "failed" and "commit order" in result["message"], result["message"]
