"""The relay suite end to end against a relay that passes on everything: every drop case must fail.

A real pytest session runs ``suites/relay`` with a manifest for :mod:`fake_relay` (started by the process
launcher, its PLC the reference's); report.json must show each case whose event the spec says to drop as
failed, and the honest events and pass-through cases as passed. Skipped when Node (the PLC) is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from atcheck.paths import project_root
from atcheck.tools import missing_tools
from atcheck.upstream.cases import CASES

FAKE = Path(__file__).with_name("fake_relay.py")
SUITE = "suites/relay/test_hostile_upstream.py"


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "naive-relay.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "naive-relay"
            implementation = "atcheck fake relay"
            version = "0"
            provisioning = "given"
            capabilities = ["sync.subscribe-repos"]

            [[service]]
            name = "relay"
            roles = ["relay"]
            needs = ["plc"]
            needs_all = ["pds"]
            health = {{ path = "/xrpc/_health", timeout = 15 }}
            [service.process]
            command = ["{{python}}", "{FAKE}", "{{port}}"]
            env = {{ ATCHECK_RELAY_UPSTREAMS = "{{all:pds.host_url}}" }}
            """
        ),
        encoding="utf-8",
    )
    return path


def test_a_relay_that_passes_every_event_fails_every_drop_case(tmp_path: Path) -> None:
    problem = missing_tools(("node22", "reference_dir"))
    if problem:
        pytest.skip(problem)
    root = project_root()
    out = tmp_path / "report"
    env = {**os.environ}
    env.pop("ATCHECK_TARGETS", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(root / SUITE),
            "-q",
            "-p",
            "no:cacheprovider",
            "--atcheck-target",
            str(_manifest(tmp_path)),
            "--atcheck-report-dir",
            str(out),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((out / "report.json").read_text())["results"]
    outcome = {
        r["test_id"].rsplit("[", 1)[-1].rstrip("]"): r["outcome"] for r in results if "[" in r["test_id"]
    }
    honest = [r["outcome"] for r in results if r["test_id"].endswith("passes_on_every_honest_commit")]
    assert honest == ["passed"]
    expected = {c.name: ("passed" if c.forward or c.name == "malformed-cbor" else "failed") for c in CASES}
    assert outcome == expected
