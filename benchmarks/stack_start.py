"""Stack start time per target: from nothing to every service healthy, as a run pays it.

Each target is started alone in a fresh stack (so a PDS target also pays for the PLC it needs) and stopped,
``--repeat`` times; the figures are the best and the median. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/stack_start.py [--target reference --target arroba] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _stack import print_start_times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stack start time per target")
    parser.add_argument("--target", action="append", default=[], help="target (default: reference, arroba)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return print_start_times(args.target or ["reference", "arroba"], args.repeat)


if __name__ == "__main__":
    sys.exit(main())
