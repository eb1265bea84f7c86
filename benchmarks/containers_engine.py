"""Docker engine start time through scripts/docker-engine.sh: the no-op when it runs, and (with --restart)
a full stop and start. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/containers_engine.py [--restart]

--restart stops the engine this project started: containers of other runs on it stop too, so it refuses
while any container runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from atcheck.containers import engine
from atcheck.paths import project_root


def script(action: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        ["bash", str(project_root() / "scripts" / "docker-engine.sh"), action],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="engine start time")
    parser.add_argument("--restart", action="store_true", help="also time a stop and a cold start")
    args = parser.parse_args(argv)
    first = script("start")
    print(f"start (ensure running)      {first:6.2f} s")
    noop = min(script("start") for _ in range(5))
    print(f"start when already running  {noop:6.3f} s best of 5")
    if args.restart:
        client = engine.client()
        try:
            running = client.containers.list()
        finally:
            client.close()
        if running:
            print(f"not restarting: {len(running)} container(s) running", file=sys.stderr)
            return 2
        stop = script("stop")
        start = script("start")
        print(f"stop                        {stop:6.2f} s")
        print(f"start (engine installed)    {start:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
