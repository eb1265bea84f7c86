"""How fast the oracle verifies a repository export: blocks/s and records/s of ``verify_repo_car``.

By default it builds a signed repo of N records in-process (``--records``, default 10000) with the oracle's
own writer; ``--car FILE`` verifies a CAR saved from a real PDS instead, and ``--pds URL --did DID`` fetches
it with ``com.atproto.sync.getRepo`` first (the fetch is not timed). ``--signing-key`` (did:key or Multikey)
adds the signature check. It prints figures only; speed is tracked here, not asserted in tests.

    .venv/bin/python benchmarks/oracle_rate.py [--records 10000] [--repeat 3]
    .venv/bin/python benchmarks/oracle_rate.py --pds http://127.0.0.1:2583 --did did:plc:... [--signing-key K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

from atcheck.oracle.build import build_repo
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.repo import VerifiedRepo, verify_repo_car
from atcheck.syntax import encode_tid

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def _synthetic(n: int) -> tuple[bytes, str, str]:
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
    repo = build_repo(DID, records, key)
    return repo.car(), DID, key.public.did_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000, help="records in the synthetic repo")
    parser.add_argument("--car", type=Path, help="verify this CAR (from sync.getRepo) instead")
    parser.add_argument("--pds", help="fetch the repo from this PDS base URL (sync.getRepo; needs --did)")
    parser.add_argument("--did", help="the repo's DID (with --car or --pds)")
    parser.add_argument("--signing-key", help="did:key or Multikey of the repo's signing key (with --car)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    args = parser.parse_args(argv)

    if args.pds:
        if not args.did:
            parser.error("--pds needs --did")
        try:
            resp = httpx.get(
                f"{args.pds.rstrip('/')}/xrpc/com.atproto.sync.getRepo", params={"did": args.did}, timeout=120
            )
        except httpx.HTTPError as exc:
            print(f"oracle_rate: cannot fetch the repo from {args.pds}: {exc}", file=sys.stderr)
            return 2
        if resp.status_code != 200:
            print(f"oracle_rate: getRepo answered {resp.status_code}: {resp.text[:200]}", file=sys.stderr)
            return 2
        car, did, signing_key, source = resp.content, args.did, args.signing_key, f"getRepo from {args.pds}"
    elif args.car:
        try:
            car = args.car.read_bytes()
        except OSError as exc:
            print(f"oracle_rate: cannot read {args.car}: {exc.strerror}", file=sys.stderr)
            return 2
        did, signing_key, source = args.did, args.signing_key, str(args.car)
    else:
        started = time.perf_counter()
        car, did, signing_key = _synthetic(args.records)
        source = f"synthetic repo of {args.records} records (built in {time.perf_counter() - started:.2f}s)"

    best = float("inf")
    result: VerifiedRepo | None = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        try:
            result = verify_repo_car(car, did=did, signing_key=signing_key)
        except OracleError as exc:
            print(f"oracle_rate: the CAR fails verification: {exc}", file=sys.stderr)
            return 1
        best = min(best, time.perf_counter() - started)
    assert result is not None

    print(f"source:          {source}")
    print(f"CAR size:        {len(car) / 1e6:.2f} MB")
    print(
        f"blocks:          {result.block_count} ({result.mst_node_count} MST nodes, "
        f"{result.record_count} records, {result.unreferenced_blocks} unreferenced)"
    )
    print(f"signature:       {'verified' if result.commit.signature_verified else 'not checked (no key)'}")
    print(f"verify time:     {best:.3f} s (best of {max(1, args.repeat)})")
    print(f"blocks/s:        {result.block_count / best:,.0f}")
    print(f"records/s:       {result.record_count / best:,.0f}")
    print(f"MB/s:            {len(car) / 1e6 / best:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
