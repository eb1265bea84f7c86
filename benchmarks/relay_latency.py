"""Relay forwarding latency: how long a commit takes from the reference PDS's stream to the indigo relay's.

Stands up ``reference`` and ``indigo-relay`` (which follows the reference PDS), makes one account, and reads
both ``subscribeRepos`` streams on background threads, stamping each frame on arrival. Then two phases:
``--single`` writes one at a time (each waits until the relay has sent it), and ``--burst`` writes as fast as
one client can. The latency of a commit is its arrival on the relay's stream minus its arrival on the PDS's
(matched by commit CID). Prints p50 / p95 / max per phase; asserts nothing.

    .venv/bin/python benchmarks/relay_latency.py [--single 50] [--burst 200]
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from pathlib import Path

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).parent))

from _stack import started

from atcheck.accounts import AccountFactory
from atcheck.errors import AtcheckError
from atcheck.oracle.cbor import decode_prefix, decode_strict
from atcheck.targets.model import Role
from atcheck.xrpc.client import XrpcClient


class Arrivals:
    """Commit CID -> arrival time (monotonic) of the ``#commit`` frames of one DID on one stream."""

    def __init__(self, url: str, did: str) -> None:
        self.url = url.replace("http://", "ws://", 1) + "/xrpc/com.atproto.sync.subscribeRepos"
        self.did = did
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise SystemExit(f"could not subscribe to {self.url}")

    def read(self) -> None:
        try:
            with connect(self.url, open_timeout=10, proxy=None, max_size=None) as ws:
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        data = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    at = time.monotonic()
                    if not isinstance(data, bytes):
                        continue
                    header, end = decode_prefix(data)
                    body = decode_strict(data[end:])
                    ours = isinstance(body, dict) and body.get("repo") == self.did
                    if ours and isinstance(header, dict) and header.get("t") == "#commit":
                        assert isinstance(body, dict)
                        self.seen[str(body.get("commit"))] = at
        except (OSError, WebSocketException):
            return


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] if ordered else math.nan


def report(name: str, cids: list[str], pds: Arrivals, relay: Arrivals) -> None:
    latencies = [relay.seen[c] - pds.seen[c] for c in cids if c in relay.seen and c in pds.seen]
    lost = sum(1 for c in cids if c not in relay.seen)
    worst = max(latencies, default=math.nan)
    print(
        f"{name:<28} n={len(latencies):<4} p50 {percentile(latencies, 50) * 1000:7.1f} ms   "
        f"p95 {percentile(latencies, 95) * 1000:7.1f} ms   max {worst * 1000:7.1f} ms"
        + (f"   ({lost} not relayed)" if lost else "")
    )


def write(client: XrpcClient, did: str, text: str) -> str:
    body = {"repo": did, "collection": "com.example.atcheck.bench", "record": {"text": text}}
    resp = client.procedure("com.atproto.repo.createRecord", body)
    if resp.status != 200:
        raise SystemExit(f"createRecord failed: {resp.describe()} {resp.text[:200]}")
    return str(resp.json()["commit"]["cid"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="indigo relay forwarding latency")
    parser.add_argument("--single", type=int, default=50, help="writes one at a time")
    parser.add_argument("--burst", type=int, default=200, help="writes back to back")
    args = parser.parse_args(argv)
    try:
        with started(["reference", "indigo-relay"]) as (_stack, running):
            pds = running["reference"].endpoint(Role.PDS)
            relay = running["indigo-relay"].endpoint(Role.RELAY)
            assert pds is not None and relay is not None
            client = XrpcClient(pds.url)
            account = AccountFactory(pds, client, provisioning="xrpc", handle_domain=".test")()
            pds_stream, relay_stream = Arrivals(pds.url, account.did), Arrivals(relay.url, account.did)
            single: list[str] = []
            for i in range(args.single):
                cid = write(account.client, account.did, f"single {i}")
                single.append(cid)
                deadline = time.monotonic() + 10
                while cid not in relay_stream.seen and time.monotonic() < deadline:
                    time.sleep(0.005)
            burst = [write(account.client, account.did, f"burst {i}") for i in range(args.burst)]
            deadline = time.monotonic() + 30
            while burst and burst[-1] not in relay_stream.seen and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            for stream in (pds_stream, relay_stream):
                stream.stop.set()
                stream.thread.join(5)
            version = running["indigo-relay"].manifest.version
            print(f"indigo-relay {version} following reference (one account)")
            report("one write at a time", single, pds_stream, relay_stream)
            report(f"burst of {args.burst}", burst, pds_stream, relay_stream)
            client.close()
    except AtcheckError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
