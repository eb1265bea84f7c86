"""The GitHub Action's steps: ``scripts/action-run.sh`` run as the action runs it, with fake GITHUB_* files.

A stand-in ``atcheck`` (it records its argv and environment, writes a summary, exits as told) checks how the
inputs become arguments, outputs and the step summary for each exit status; then the real ``atcheck`` of this
venv checks a running reference PDS through the script, credentials and all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from atcheck.targets.model import Role
from atcheck.targets.stack import RunningTarget, Stack

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "action-run.sh"

FAKE_ATCHECK = r"""#!/usr/bin/env bash
# Records what the action passed, then acts like `atcheck run` exiting with $FAKE_CODE.
python3 -c 'import json, os, sys; print(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ)}))' "$@" \
    >>"$FAKE_LOG"
if [[ "$1" == run ]]; then
    while [[ $# -gt 0 && "$1" != --report-dir ]]; do shift; done
    mkdir -p "$2" && echo "### fake summary ($FAKE_CODE)" >"$2/summary.md"
    exit "$FAKE_CODE"
fi
"""


class Action:
    """One run of the script in a fake GitHub Actions job rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace = root / "workspace"
        self.workspace.mkdir()
        self.output = root / "github_output"
        self.summary = root / "step_summary"
        self.summary.write_text("earlier step\n", encoding="utf-8")

    def env(self, **inputs: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ATCHECK_", "GITHUB_"))}
        return {
            **base,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(self.root / "runner-temp"),
            **inputs,
        }

    def run(self, **inputs: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT)], cwd=self.workspace, env=self.env(**inputs),
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    def outputs(self) -> dict[str, str]:
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def action(tmp_path: Path) -> Action:
    return Action(tmp_path)


@pytest.fixture
def fake_atcheck(tmp_path: Path) -> Path:
    path = tmp_path / "fake-atcheck"
    path.write_text(FAKE_ATCHECK, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(("code", "verdict"), [(0, "pass"), (1, "fail"), (2, "error")])
def test_exit_status_verdict_outputs_and_summary(
    action: Action, fake_atcheck: Path, code: int, verdict: str
) -> None:
    log = action.root / "calls.jsonl"
    done = action.run(
        ATCHECK_ACTION_ATCHECK=str(fake_atcheck),
        ATCHECK_ACTION_TARGET="http://127.0.0.1:1\nmy-pds.toml",
        ATCHECK_ACTION_SUITES="repo, sync\nxrpc",
        ATCHECK_ACTION_BASELINE="known.toml",
        ATCHECK_ACTION_SETUP="reference",
        ATCHECK_ADMIN_PASSWORD="s3cret-admin",
        FAKE_LOG=str(log),
        FAKE_CODE=str(code),
    )
    assert done.returncode == code, done.stderr
    report = action.workspace / "atcheck-report"
    assert action.outputs() == {"verdict": verdict, "exit-code": str(code), "report-path": str(report)}
    assert action.summary.read_text(encoding="utf-8") == f"earlier step\n### fake summary ({code})\n"
    setup, run = (json.loads(line) for line in log.read_text(encoding="utf-8").splitlines())
    assert setup["argv"] == ["setup", "reference"]
    assert run["argv"] == [
        "run", "--report-dir", str(report), "--target", "http://127.0.0.1:1", "--target", "my-pds.toml",
        "--suite", "repo", "--suite", "sync", "--suite", "xrpc", "--baseline", "known.toml",
    ]  # fmt: skip
    # Credentials travel in the environment only, never on a command line.
    assert run["env"]["ATCHECK_ADMIN_PASSWORD"] == "s3cret-admin"
    assert run["env"]["CI"]


def test_no_target_is_an_error_with_a_reason_in_the_summary(action: Action, fake_atcheck: Path) -> None:
    done = action.run(ATCHECK_ACTION_ATCHECK=str(fake_atcheck), ATCHECK_ACTION_TARGET="")
    assert done.returncode == 2
    assert action.outputs()["verdict"] == "error"
    assert "the input 'target' is empty" in action.summary.read_text(encoding="utf-8")


def test_a_failed_setup_stops_before_the_run(action: Action, tmp_path: Path) -> None:
    failing = tmp_path / "failing-atcheck"
    failing.write_text("#!/usr/bin/env bash\nexit 2\n", encoding="utf-8")
    failing.chmod(0o755)
    done = action.run(
        ATCHECK_ACTION_ATCHECK=str(failing),
        ATCHECK_ACTION_TARGET="reference",
        ATCHECK_ACTION_SETUP="reference",
    )
    assert done.returncode == 2
    assert "atcheck setup reference failed" in action.summary.read_text(encoding="utf-8")


def test_the_action_maps_every_input_the_script_reads() -> None:
    """action.yml hands the script each input it documents, and runs this script (no YAML parser needed)."""
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert 'run: bash "$GITHUB_ACTION_PATH/scripts/action-run.sh"' in text
    read = set(re.findall(r"^#\s+(ATCHECK_[A-Z_]+)", SCRIPT.read_text(encoding="utf-8"), re.MULTILINE))
    mapped = set(re.findall(r"^\s+(ATCHECK_[A-Z_]+): \$\{\{ inputs\.", text, re.MULTILINE))
    assert read - {"ATCHECK_ACTION_ATCHECK"} <= mapped, read - mapped
    assert "actions/upload-artifact@v4" in text and "if: always()" in text


def test_a_real_run_through_the_action(action: Action, reference_stack: tuple[Stack, RunningTarget]) -> None:
    _, reference = reference_stack
    pds = reference.endpoint(Role.PDS)
    assert pds is not None and pds.credentials.admin_password
    atcheck = Path(sys.executable).parent / "atcheck"
    done = action.run(
        ATCHECK_ACTION_ATCHECK=str(atcheck),
        ATCHECK_ACTION_TARGET=pds.url,
        ATCHECK_ACTION_SUITES="server",
        ATCHECK_ADMIN_PASSWORD=pds.credentials.admin_password,
    )
    outputs = action.outputs()
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert outputs["verdict"] == {0: "pass", 1: "fail"}[done.returncode]
    report = Path(outputs["report-path"])
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert data["results"] and data["targets"][0]["status"] == "ran"
    summary = action.summary.read_text(encoding="utf-8")
    assert summary == "earlier step\n" + (report / "summary.md").read_text(encoding="utf-8")
    for path in [action.output, action.summary, *report.rglob("*")]:
        if path.is_file():
            assert pds.credentials.admin_password.encode() not in path.read_bytes(), path
