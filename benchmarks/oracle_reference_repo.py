"""Oracle verification rate on a real repository: N records (default 10k) written through the reference PDS.

Starts the reference target, creates an account, writes the records with applyWrites in batches, fetches
the repo with com.atproto.sync.getRepo, resolves the account's signing key from the PLC, then times
``verify_repo_car`` (full checks: every block hash, MST structure and root recomputation, commit signature).
Prints blocks/s and records/s; asserts nothing. ``--save FILE`` keeps the CAR for oracle_rate.py --car.

    .venv/bin/python benchmarks/oracle_reference_repo.py [--records 10000] [--repeat 3] [--save repo.car]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _stack import started

from atcheck.errors import AtcheckError
from atcheck.oracle.crypto import PublicKey, parse_legacy_multibase, parse_multikey
from atcheck.oracle.repo import verify_repo_car
from atcheck.targets.model import Role
from atcheck.xrpc.client import XrpcClient

BATCH = 200  # the reference PDS caps applyWrites at 200 writes


def _signing_key(plc: XrpcClient, did: str) -> PublicKey:
    """The #atproto key; the reference PLC (0.0.1) still serves the legacy, pre-Multikey form."""
    doc = plc.get(f"/{did}").json()
    for method in doc.get("verificationMethod", []):
        if method.get("id", "").endswith("#atproto"):
            value, kind = str(method["publicKeyMultibase"]), str(method.get("type"))
            return parse_multikey(value) if kind == "Multikey" else parse_legacy_multibase(value, kind)
    raise SystemExit(f"oracle_reference_repo: no #atproto key in {did}'s DID document")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="oracle rate on a repo built through the reference PDS")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--save", type=Path, help="write the fetched CAR here")
    args = parser.parse_args(argv)
    try:
        with started(["reference"]) as (_stack, running):
            target = running["reference"]
            pds_ep, plc_ep = target.endpoints[Role.PDS], target.endpoints[Role.PLC]
            pds = XrpcClient(pds_ep.url, timeout_s=120)
            handle = f"bench{secrets.token_hex(3)}.test"
            made = pds.procedure(
                "com.atproto.server.createAccount",
                {"handle": handle, "password": secrets.token_urlsafe(12), "email": f"{handle}@example.test"},
            ).json()
            did, auth = made["did"], pds.with_token(made["accessJwt"])
            began = time.perf_counter()
            for start in range(0, args.records, BATCH):
                writes = [
                    {
                        "$type": "com.atproto.repo.applyWrites#create",
                        "collection": "app.bsky.feed.post",
                        "value": {
                            "$type": "app.bsky.feed.post",
                            "text": f"benchmark record {i}",
                            "createdAt": "2026-01-01T00:00:00.000Z",
                        },
                    }
                    for i in range(start, min(start + BATCH, args.records))
                ]
                resp = auth.procedure("com.atproto.repo.applyWrites", {"repo": did, "writes": writes})
                if resp.status != 200:
                    print(f"oracle_reference_repo: applyWrites failed: {resp.describe()}", file=sys.stderr)
                    return 1
            write_s = time.perf_counter() - began
            car = pds.query("com.atproto.sync.getRepo", {"did": did}).content
            key = _signing_key(XrpcClient(plc_ep.url), did)
    except AtcheckError as exc:
        print(f"oracle_reference_repo: {exc}", file=sys.stderr)
        return 2
    if args.save:
        args.save.write_bytes(car)
    best = float("inf")
    for _ in range(max(1, args.repeat)):
        began = time.perf_counter()
        verified = verify_repo_car(car, did=did, signing_key=key)
        best = min(best, time.perf_counter() - began)
    print(f"records written: {args.records} through the reference PDS in {write_s:.1f} s")
    print(f"CAR: {len(car) / 1e6:.2f} MB, {verified.block_count} blocks, {verified.record_count} records")
    print(f"signature verified: {verified.commit.signature_verified}")
    print(f"verify_repo_car best of {args.repeat}: {best:.3f} s")
    print(f"rate: {verified.block_count / best:,.0f} blocks/s, {verified.record_count / best:,.0f} records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
