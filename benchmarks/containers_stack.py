"""Container stack start time next to the process launcher's: reference vs reference@container.

Each target is started alone in a fresh stack and stopped, ``--repeat`` times (the same Stack a run uses).
Prints figures, asserts nothing.

    .venv/bin/python benchmarks/containers_stack.py [--target reference] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _stack import print_start_times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stack start: process vs container launcher")
    parser.add_argument("--target", default="reference", help="a target with [service.container] tables")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return print_start_times([args.target, f"{args.target}@container"], args.repeat)


if __name__ == "__main__":
    sys.exit(main())
