"""Wall time of the full default run (`atcheck run`: every suite against every default target).

Runs the real CLI in a subprocess with its own report dir, so the figure includes what a user waits for:
stack start, all suites, report writing, teardown. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/default_run.py [--repeat 1] [-- extra atcheck run args]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="wall time of the default run")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="extra arguments for atcheck run")
    args = parser.parse_args(argv)
    for attempt in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory(prefix="atcheck-bench-run-") as out:
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "atcheck.cli", "run", "--report-dir", out, *args.extra],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - began
            report_path = Path(out) / "report.json"
            if not report_path.exists():
                print(done.stdout[-2000:] + done.stderr[-2000:], file=sys.stderr)
                print(f"default_run: no report (exit {done.returncode})", file=sys.stderr)
                return 2
            report = json.loads(report_path.read_text())
        counts: dict[str, int] = {}
        for result in report["results"]:
            counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
        starts = ", ".join(
            f"{key.split('.', 1)[1]}={value}s"
            for key, value in report["environment"].items()
            if key.startswith("start_time_s.")
        )
        print(
            f"run {attempt + 1}: wall {wall:6.1f} s (exit {done.returncode}); "
            f"{len(report['results'])} results {dict(sorted(counts.items()))}; "
            f"target starts {starts}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
