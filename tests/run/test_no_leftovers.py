"""After any run (passed, failed, interrupted, terminated) no process or scratch dir of it is left behind.

These drive the real CLI against the real reference target, because leftovers come from real servers: a Node
PDS that forks, a PLC that outlives its PDS. Every process the process launcher starts carries
ATCHECK_RUN_ID in its environment, so /proc tells exactly which ones belong to the run.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from atcheck.tools import missing_tools

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    missing_tools(("node22", "reference_dir")) is not None,
    reason=f"reference target not installed: {missing_tools(('node22', 'reference_dir'))}",
)


def _processes_of(run_id: str) -> list[int]:
    marker = f"ATCHECK_RUN_ID={run_id}".encode()
    found = []
    for environ in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(environ, "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    found.append(int(environ.split("/")[2]))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def _atcheck(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "atcheck.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CI": "1"},
    )


def _run_id_of(report_dir: Path) -> str:
    return str(json.loads((report_dir / "report.json").read_text())["run_id"])


def _assert_clean(run_id: str) -> None:
    deadline = time.monotonic() + 10
    while _processes_of(run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(run_id) == [], "processes of the run survived it"
    assert glob.glob(os.path.join(tempfile.gettempdir(), f"atcheck-{run_id}-*")) == []


def test_a_finished_run_leaves_nothing_behind(tmp_path: Path) -> None:
    proc = _atcheck("run", "--target", "reference", "--suite", "server", "--report-dir", str(tmp_path))
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), output
    _assert_clean(_run_id_of(tmp_path))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_nothing_behind(tmp_path: Path, signum: int) -> None:
    proc = _atcheck("run", "--target", "reference", "--report-dir", str(tmp_path))
    pds_log = tmp_path / "logs" / "reference-pds.log"
    deadline = time.monotonic() + 120
    while not pds_log.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert pds_log.exists(), "the reference PDS never started"
    time.sleep(0.5)
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, output
    assert "Traceback" not in output, output
    # An interrupted run still writes its (partial) report, which names the run.
    _assert_clean(_run_id_of(tmp_path))
