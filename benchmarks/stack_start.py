"""Stack start time per target: from nothing to every service healthy, as a run pays it.

Each target is started alone in a fresh stack (so a PDS target also pays for the PLC it needs) and stopped,
``--repeat`` times; the figures are the best and the median. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/stack_start.py [--target reference --target arroba] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _stack import started

from atcheck.errors import AtcheckError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stack start time per target")
    parser.add_argument("--target", action="append", default=[], help="target (default: reference, arroba)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    for name in args.target or ["reference", "arroba"]:
        times: list[float] = []
        stops: list[float] = []
        for _ in range(max(1, args.repeat)):
            began = time.perf_counter()
            try:
                with started([name]) as (stack, _running):
                    times.append(time.perf_counter() - began)
                    stop_began = time.perf_counter()
                    stack.stop_all()
                    stops.append(time.perf_counter() - stop_began)
            except AtcheckError as exc:
                print(f"{name}: cannot start: {exc}", file=sys.stderr)
                return 2
        print(
            f"{name:<12} start best {min(times):6.2f} s  median {statistics.median(times):6.2f} s  "
            f"stop median {statistics.median(stops):5.2f} s  ({len(times)} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
