"""The oracle's repo verification beside @atproto/repo's, on the same CARs: a speed ratio (goal: >= 2x).

Both verifiers get the same bytes: a signed repo of N records built by the oracle (``atcheck.oracle.build``),
written to a temporary CAR. Each side is timed in its own process around the verification call only (the
file is read first; Node's and Python's start-up are not counted), best of ``--repeat`` runs:

- the oracle: ``atcheck.oracle.repo.verify_repo_car(car, did=..., signing_key=...)``;
- @atproto/repo: ``verifyRepoCar(car, did, didKey)``, from the reference install's node_modules (a dependency
  of @atproto/pds, so nothing is installed), on the project's Node 22 (``benchmarks/node/verify_repo.mjs``).

They check different amounts: both verify the commit signature and read every block; the oracle also checks
every block's hash, decodes every record strictly and rebuilds the MST from the records, while @atproto/repo
walks the MST and checks that every leaf is present. The ratio is @atproto/repo's time over the oracle's
(> 1: the oracle is faster). Both must agree on the record count, or the figure is not printed.

    .venv/bin/python benchmarks/peers_repo_verify.py [--records 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from atcheck.errors import AtcheckError
from atcheck.oracle.build import build_repo
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.repo import verify_repo_car
from atcheck.syntax import encode_tid
from atcheck.tools import resolve_tool

HELPER = Path(__file__).with_name("node") / "verify_repo.mjs"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
NODE_TIMEOUT_S = 1800.0


def synthetic_car(n: int) -> tuple[bytes, str]:
    """A signed repo of ``n`` records over three collections; returns the CAR and the signing did:key."""
    key = PrivateKey.generate("k256")
    base = 1_700_000_000_000_000
    records = {}
    for i in range(n):
        collection = ("app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow")[i % 3]
        records[f"{collection}/{encode_tid(base + i * 1000, i % 1024)}"] = {
            "$type": collection,
            "text": f"record number {i} " + "x" * (i % 50),
            "createdAt": "2024-01-01T00:00:00.000Z",
            "langs": ["en"],
        }
    return build_repo(DID, records, key).car(), key.public.did_key


def time_oracle(car: bytes, did_key: str, repeat: int) -> tuple[float, int]:
    best, records = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        verified = verify_repo_car(car, did=DID, signing_key=did_key)
        best = min(best, time.perf_counter() - started)
        records = verified.record_count
    return best, records


def time_node(car_path: Path, did_key: str, repeat: int) -> tuple[float, int, str]:
    node, reference = resolve_tool("node22"), resolve_tool("reference_dir")
    done = subprocess.run(
        [node, str(HELPER), reference, str(car_path), DID, did_key, str(repeat)],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"@atproto/repo's verifier failed: {done.stderr.strip()[-500:]}")
    out = json.loads(done.stdout)
    return min(out["times_s"]), int(out["records"]), str(out["version"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="oracle vs @atproto/repo repo verification")
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side; the best is reported")
    args = parser.parse_args(argv)
    rows = []
    for n in args.records:
        started = time.perf_counter()
        car, did_key = synthetic_car(n)
        built = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="atcheck-peers-") as tmp:
            car_path = Path(tmp) / "repo.car"
            car_path.write_bytes(car)
            try:
                node_s, node_records, version = time_node(car_path, did_key, args.repeat)
            except (AtcheckError, RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                print(f"peers_repo_verify: {exc}", file=sys.stderr)
                return 2
        oracle_s, oracle_records = time_oracle(car, did_key, args.repeat)
        if node_records != n or oracle_records != n:
            print(
                f"peers_repo_verify: disagreement on {n} records: oracle {oracle_records}, "
                f"@atproto/repo {node_records}",
                file=sys.stderr,
            )
            return 1
        rows.append((n, len(car), built, oracle_s, node_s, version))
        print(
            f"{n:>7} records  CAR {len(car) / 1e6:6.1f} MB (built in {built:5.1f} s)  "
            f"oracle {oracle_s:7.3f} s  @atproto/repo {version} {node_s:7.3f} s  "
            f"ratio {node_s / oracle_s:5.2f}x",
            flush=True,
        )
    goal = all(node_s / oracle_s >= 2.0 for _, _, _, oracle_s, node_s, _ in rows)
    print(f"goal (oracle >= 2x faster on every size): {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
