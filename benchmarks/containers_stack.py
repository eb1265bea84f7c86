"""Container stack start time next to the process launcher's: reference vs reference@container.

Each target is started alone in a fresh stack and stopped, ``--repeat`` times (the same Stack a run uses).
Prints figures, asserts nothing.

    .venv/bin/python benchmarks/containers_stack.py [--target reference] [--repeat 3]
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
    parser = argparse.ArgumentParser(description="stack start: process vs container launcher")
    parser.add_argument("--target", default="reference", help="a target with [service.container] tables")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    for name in (args.target, f"{args.target}@container"):
        starts: list[float] = []
        stops: list[float] = []
        for _ in range(max(1, args.repeat)):
            began = time.perf_counter()
            try:
                with started([name]) as (stack, _running):
                    starts.append(time.perf_counter() - began)
                    stop_began = time.perf_counter()
                    stack.stop_all()
                    stops.append(time.perf_counter() - stop_began)
            except AtcheckError as exc:
                print(f"{name}: cannot start: {exc}", file=sys.stderr)
                return 2
        print(
            f"{name:<22} start best {min(starts):6.2f} s  median {statistics.median(starts):6.2f} s  "
            f"stop median {statistics.median(stops):5.2f} s  ({len(starts)} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
