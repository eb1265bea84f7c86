"""The relay-migration test catches a relay that keeps a migrated account on its old host.

A pytest session in a subprocess runs ``suites/federation/test_relay_migration.py`` against the reference PDS
(with its second instance, which the suite's scene starts) and two fake relays (tests/fakes/fake_relay.py
with PLC_URL, so they keep account state and serve getLatestCommit and getRepoStatus): ``ok`` follows an
account to the host its DID document names (the control, which must pass), ``sticky`` keeps it on the first
host it saw (which must fail, naming the pair). Skipped when the reference PDS is not installed.
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
TEST = "test_a_relay_follows_a_migrated_account_to_its_new_host"


def _relay_manifest(tmp_path: Path, fault: str) -> Path:
    path = tmp_path / f"relay-{fault}.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "relay-{fault}"
            implementation = "fake relay ({fault})"
            version = "0"
            provisioning = "given"
            capabilities = ["sync.subscribe-repos", "sync.latest-commit"]

            [[service]]
            name = "relay"
            roles = ["relay"]
            needs = ["plc"]
            needs_all = ["pds"]
            health = {{ path = "/xrpc/_health", timeout = 20 }}
            [service.process]
            command = ["{{python}}", "{FAKE}"]
            [service.process.env]
            PORT = "{{port}}"
            FAULT = "{fault}"
            ATCHECK_RELAY_UPSTREAMS = "{{all:pds.url}}"
            PLC_URL = "{{plc.url}}"
            """
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    problem = missing_tools(("node22", "reference_dir"))
    if problem:
        pytest.skip(problem)
    tmp_path = tmp_path_factory.mktemp("relay-migration")
    targets = ["--atcheck-target", "reference"]
    for fault in ("ok", "sticky"):
        targets += ["--atcheck-target", str(_relay_manifest(tmp_path, fault))]
    out = tmp_path / "report"
    env = {**os.environ, "ATCHECK_HOME": str(ROOT)}
    env.pop("ATCHECK_TARGETS", None)
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "suites" / "federation" / "test_relay_migration.py"),
            "-p", "no:cacheprovider", "-q", *targets, "--atcheck-report-dir", str(out),
        ],
        capture_output=True, text=True, env=env, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip
    report_path = out / "report.json"
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    return {r["target"]: r for r in report["results"] if r["test_id"].split("::")[-1].startswith(TEST)}


def test_a_relay_that_follows_the_account_passes(results: dict[str, dict[str, Any]]) -> None:
    assert results["relay-ok"]["outcome"] == "passed", results["relay-ok"]["message"]


def test_a_relay_that_keeps_the_old_host_fails(results: dict[str, dict[str, Any]]) -> None:
    result = results["relay-sticky"]
    assert result["outcome"] == "failed", result["message"]
    assert "getLatestCommit" in result["message"] and "[reference -> reference#2]" in result["message"]
