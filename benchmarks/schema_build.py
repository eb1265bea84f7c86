"""Time to build every Lexicon schema from the default source (`atcheck schema build`, minus the disk write).

Loads the Lexicons of the pinned lexrpc wheel, converts them, checks every ref and renders the files; prints
the median and spread of several runs. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/schema_build.py [--repeat 5] [--lexicons DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from atcheck.schema import build
from atcheck.schema.sources import lexicons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lexicons", type=Path)
    args = parser.parse_args()
    load, convert = [], []
    files: dict[str, str] = {}
    source = lexicons(args.lexicons)
    for _ in range(args.repeat):
        started = time.perf_counter()
        source = lexicons(args.lexicons)
        loaded = time.perf_counter()
        files = build.generate(source)
        done = time.perf_counter()
        load.append(loaded - started)
        convert.append(done - loaded)
    total = [a + b for a, b in zip(load, convert, strict=True)]
    size = sum(len(text.encode()) for text in files.values())
    print(
        f"source: {source.describe()}; {len(files) - 1} Lexicons -> {len(files)} files, {size / 1e6:.1f} MB"
    )
    print(f"load Lexicons   median {statistics.median(load):.3f}s")
    print(f"convert+render  median {statistics.median(convert):.3f}s")
    print(
        f"build total     median {statistics.median(total):.3f}s "
        f"(min {min(total):.3f}s, max {max(total):.3f}s, "
        f"{args.repeat} runs)"
    )


if __name__ == "__main__":
    main()
