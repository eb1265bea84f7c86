"""Scale: a 100,000-record repo built by the oracle, loaded with importRepo, checked with bounded memory.

Starts the reference target (its PDS allowed imports of up to 1 GB: PDS_MAX_REPO_IMPORT_SIZE; by default
0.5.35 caps them at its blob upload limit, 5 MB), creates an account, then:

1. build: the oracle builds a signed repo of N records (``atcheck.oracle.build``) and writes it as a CAR;
2. import: ``com.atproto.repo.importRepo`` uploads that file as a stream into the account;
3. one createRecord, so the PDS signs a commit of its own over the imported tree (an imported commit is
   kept as sent, signed by the oracle's key, not the account's);
4. verify (streaming): ``sync.getRepo`` read straight from the HTTP response into
   ``atcheck.oracle.stream.verify_repo_stream`` with the key from the DID document: every block, the
   MST, every record, the signature; then the in-memory ``verify_repo_car`` on the same CAR for comparison;
5. listRecords over the whole collection (every rkey once, in order), getLatestCommit, and getRecord proofs
   of a sample of records;
6. for comparison, M createRecord calls (default 10,000) into a second account.

Build and both verifications run in child processes, so each peak RSS is that step's alone. Prints one
line per figure; exit status 0, 1 when a check fails, 2 when the reference cannot start.

    .venv/bin/python benchmarks/scale_import.py [--records 100000] [--creates 10000] [--sample 200]

Measured 2026-12-03 on the shared 2-core machine (load average ~10 from other runs, so times are upper
bounds), ``--records 100000 --creates 2000 --sample 200``:

    build:   100000 records, 126817 blocks, 21.8 MB CAR in 9.2 s (peak RSS 213 MB)
    import:  importRepo of 21.8 MB in 89.4 s
    verify:  getRepo streamed into the oracle: 100001 records, 126819 blocks, 21.8 MB in 28.7 s
             (peak RSS 79 MB)
    compare: getRepo held in memory + verify_repo_car: 44.3 s (peak RSS 295 MB)
    list:    listRecords paged through 100001 records (limit 100) in 63.5 s
    sync:    getLatestCommit agrees; 200 getRecord proofs verified in 4.2 s
    compare: 2000 createRecord calls in 189.2 s (11/s; 100000 that way: ~9461 s; importRepo took 89.4 s)

and, for the 10,000-call comparison, ``--records 1000 --creates 10000`` (load average ~14):

    compare: 10000 createRecord calls in 900.9 s (11/s)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import httpx

from atcheck.errors import AtcheckError
from atcheck.oracle.crypto import PublicKey, parse_legacy_multibase, parse_multikey
from atcheck.run import new_run_id
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role, TargetManifest
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack
from atcheck.xrpc.client import XrpcClient

COLLECTION = "com.example.atcheck.scale"
IMPORT_LIMIT = str(1 << 30)


def rkey(i: int) -> str:
    return f"r{i:07d}"


def record(i: int) -> dict[str, Any]:
    return {"$type": COLLECTION, "text": f"scale record {i}", "createdAt": "2026-01-01T00:00:00.000Z"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child steps: each prints one JSON line -------------------------------------------------------------


def step_build(records: int, did: str, out: Path) -> dict[str, Any]:
    from atcheck.oracle.build import build_repo
    from atcheck.oracle.crypto import PrivateKey

    began = time.perf_counter()
    key = PrivateKey.generate("k256")
    repo = build_repo(did, {f"{COLLECTION}/{rkey(i)}": record(i) for i in range(records)}, key)
    out.write_bytes(repo.car())
    return {"seconds": time.perf_counter() - began, "bytes": out.stat().st_size, "blocks": len(repo.blocks)}


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    yield from response.iter_bytes(1 << 20)  # decoded: the PDS may gzip the CAR


def step_verify_stream(url: str, did: str, key: str) -> dict[str, Any]:
    from atcheck.oracle.stream import verify_repo_stream

    began = time.perf_counter()
    with (
        httpx.Client(timeout=600) as http,
        http.stream("GET", f"{url}/xrpc/com.atproto.sync.getRepo", params={"did": did}) as response,
    ):
        response.raise_for_status()
        chunks = _chunks(response)
        pending = bytearray()

        def read(n: int) -> bytes:
            while len(pending) < n:
                more = next(chunks, b"")
                if not more:
                    break
                pending.extend(more)
            out = bytes(pending[:n])
            del pending[:n]
            return out

        found = verify_repo_stream(read, did=did, signing_key=key)
    return {
        "seconds": time.perf_counter() - began,
        "records": found.record_count,
        "blocks": found.block_count,
        "bytes": found.size,
        "commit": str(found.commit.cid),
        "signed": found.commit.signature_verified,
    }


def step_verify_memory(url: str, did: str, key: str) -> dict[str, Any]:
    from atcheck.oracle.repo import verify_repo_car

    began = time.perf_counter()
    car = httpx.get(f"{url}/xrpc/com.atproto.sync.getRepo", params={"did": did}, timeout=600).content
    found = verify_repo_car(car, did=did, signing_key=key)
    return {"seconds": time.perf_counter() - began, "records": found.record_count}


def child_main(argv: list[str]) -> int:
    step, *rest = argv
    if step == "build":
        result = step_build(int(rest[0]), rest[1], Path(rest[2]))
    elif step == "verify-stream":
        result = step_verify_stream(*rest)
    else:
        result = step_verify_memory(*rest)
    print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
    return 0


def child(*argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *argv],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"scale_import: step {argv[0]} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the orchestration ----------------------------------------------------------------------------------


def _reference_with_imports() -> TargetManifest:
    manifest = builtin_manifests()["reference"]
    services = []
    for service in manifest.services:
        if service.name == "pds" and service.process is not None:
            env = {**service.process.env, "PDS_MAX_REPO_IMPORT_SIZE": IMPORT_LIMIT}
            service = dataclasses.replace(service, process=dataclasses.replace(service.process, env=env))
        services.append(service)
    return dataclasses.replace(manifest, services=tuple(services))


def _signing_key(plc: XrpcClient, did: str) -> PublicKey:
    doc = plc.get(f"/{did}").json()
    for method in doc.get("verificationMethod", []):
        if method.get("id", "").endswith("#atproto"):
            value, kind = str(method["publicKeyMultibase"]), str(method.get("type"))
            return parse_multikey(value) if kind == "Multikey" else parse_legacy_multibase(value, kind)
    raise SystemExit(f"scale_import: no #atproto key in {did}'s DID document")


def _account(pds: XrpcClient) -> tuple[str, XrpcClient]:
    handle = f"scale{secrets.token_hex(3)}.test"
    made = pds.procedure(
        "com.atproto.server.createAccount",
        {"handle": handle, "password": secrets.token_urlsafe(12), "email": f"{handle}@example.test"},
    )
    if made.status != 200:
        raise SystemExit(f"scale_import: createAccount failed: {made.describe()}")
    body = made.json()
    return str(body["did"]), pds.with_token(body["accessJwt"])


def check(ok: bool, what: str) -> None:
    if not ok:
        print(f"scale_import: FAILED: {what}", file=sys.stderr)
        raise SystemExit(1)


def run(args: argparse.Namespace, work: Path) -> None:
    from atcheck.oracle.repo import verify_record_proof

    ctx = LaunchContext(run_id=new_run_id(), run_dir=work / "run", log_dir=work / "logs")
    stack = Stack([TargetSpec.of(_reference_with_imports())], ctx)
    try:
        target = stack.start("reference")
        pds_url, plc_url = target.endpoints[Role.PDS].url, target.endpoints[Role.PLC].url
        pds = XrpcClient(pds_url, timeout_s=600)
        did, auth = _account(pds)
        car = work / "repo.car"

        built = child("build", str(args.records), did, str(car))
        print(
            f"build:   {args.records} records, {built['blocks']} blocks, {built['bytes'] / 1e6:.1f} MB CAR "
            f"in {built['seconds']:.1f} s (peak RSS {built['peak_rss_mb']:.0f} MB)"
        )

        began = time.perf_counter()
        with car.open("rb") as body:
            resp = httpx.post(
                f"{pds_url}/xrpc/com.atproto.repo.importRepo",
                content=iter(lambda: body.read(1 << 20), b""),
                headers={"Authorization": f"Bearer {auth.token}", "Content-Type": "application/vnd.ipld.car"},
                timeout=1800,
            )
        import_s = time.perf_counter() - began
        check(resp.status_code == 200, f"importRepo answered {resp.status_code}: {resp.text[:300]}")
        print(f"import:  importRepo of {built['bytes'] / 1e6:.1f} MB in {import_s:.1f} s")

        wrote = auth.procedure(
            "com.atproto.repo.createRecord",
            {
                "repo": did,
                "collection": COLLECTION,
                "rkey": rkey(args.records),
                "record": record(args.records),
            },
        )
        check(wrote.status == 200, f"createRecord after the import: {wrote.describe()}")
        total = args.records + 1

        key = _signing_key(XrpcClient(plc_url), did).did_key
        streamed = child("verify-stream", pds_url, did, key)
        check(streamed["records"] == total, f"getRepo holds {streamed['records']} records, not {total}")
        check(streamed["signed"], "the commit's signature was not checked")
        print(
            f"verify:  getRepo streamed into the oracle: {streamed['records']} records, {streamed['blocks']} "
            f"blocks, {streamed['bytes'] / 1e6:.1f} MB in {streamed['seconds']:.1f} s "
            f"(peak RSS {streamed['peak_rss_mb']:.0f} MB)"
        )
        held = child("verify-memory", pds_url, did, key)
        print(
            f"compare: getRepo held in memory + verify_repo_car: {held['seconds']:.1f} s "
            f"(peak RSS {held['peak_rss_mb']:.0f} MB)"
        )

        began = time.perf_counter()
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"repo": did, "collection": COLLECTION, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = pds.query("com.atproto.repo.listRecords", params)
            check(page.status == 200, f"listRecords: {page.describe()}")
            body = page.json()
            seen += [r["uri"].rsplit("/", 1)[1] for r in body["records"]]
            cursor = body.get("cursor")
            if not cursor or not body["records"]:
                break
        list_s = time.perf_counter() - began
        expected = [rkey(i) for i in range(total)]
        check(sorted(seen) == expected, f"listRecords gave {len(seen)} rkeys, not each of the {total} once")
        check(seen in (expected, expected[::-1]), "listRecords pages are not in rkey order")
        print(f"list:    listRecords paged through {len(seen)} records (limit 100) in {list_s:.1f} s")

        head = pds.query("com.atproto.sync.getLatestCommit", {"did": did}).json()
        check(head["cid"] == streamed["commit"], "getLatestCommit is not the commit getRepo served")
        began = time.perf_counter()
        for i in random.Random(7).sample(range(total), min(args.sample, total)):
            proof = pds.query(
                "com.atproto.sync.getRecord", {"did": did, "collection": COLLECTION, "rkey": rkey(i)}
            )
            check(proof.status == 200, f"sync.getRecord {rkey(i)}: {proof.describe()}")
            got = verify_record_proof(proof.content, did, COLLECTION, rkey(i), key)
            check(got.value is not None and got.value["text"] == record(i)["text"], f"proof of {rkey(i)}")
        print(f"sync:    getLatestCommit agrees; {args.sample} getRecord proofs verified in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip

        if args.creates:
            did2, auth2 = _account(pds)
            began = time.perf_counter()
            for i in range(args.creates):
                made = auth2.procedure(
                    "com.atproto.repo.createRecord",
                    {"repo": did2, "collection": COLLECTION, "rkey": rkey(i), "record": record(i)},
                )
                check(made.status == 200, f"createRecord {i}: {made.describe()}")
            create_s = time.perf_counter() - began
            rate = args.creates / create_s
            print(
                f"compare: {args.creates} createRecord calls in {create_s:.1f} s ({rate:.0f}/s; "
                f"{args.records} that way: ~{args.records / rate:.0f} s; importRepo took {import_s:.1f} s)"
            )
    finally:
        stack.stop_all()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    parser = argparse.ArgumentParser(description="100k-record repo: build, importRepo, verify (streamed)")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=10_000, help="createRecord calls to compare (0: none)")
    parser.add_argument("--sample", type=int, default=200, help="getRecord proofs to verify")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="atcheck-scale-"))
    try:
        run(args, work)
    except AtcheckError as exc:
        print(f"scale_import: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
