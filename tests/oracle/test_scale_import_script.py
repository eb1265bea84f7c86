"""The scale benchmark stays runnable: the whole path (oracle build, importRepo into the reference PDS, the
streamed getRepo verification, listRecords, getRecord proofs, createRecord comparison) on a small repo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atcheck.tools import missing_tools

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale_import.py"
NEEDED = ("node22", "reference_dir")


@pytest.mark.skipif(
    missing_tools(NEEDED) is not None, reason=f"reference not installed: {missing_tools(NEEDED)}"
)
def test_a_small_scale_run_passes_every_check() -> None:
    argv = [sys.executable, str(SCRIPT), "--records", "1500", "--creates", "20", "--sample", "10"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "build", "import", "verify", "compare", "list", "sync", "compare"
    ]  # fmt: skip
    assert "1501 records" in lines[2] and "peak RSS" in lines[2]
