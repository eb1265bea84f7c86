"""Label stream rate, as verified by the oracle: labels per second from subscribeLabels, each frame decoded
strictly and each label's signature checked against the labeler's ``#atproto_label`` key at the PLC.

Starts the skyware-labeler target (or ``--target ozone``; with the reference PLC it needs), has it make
``--labels`` labels, then
replays them with ``cursor=0`` and times three things: the replay as a client sees it (receive, decode,
verify), and the oracle alone over the same frames (decode + verify, no network), so the figure says which
side is the limit. Prints figures, asserts nothing; everything started is stopped.

    .venv/bin/python benchmarks/label_stream_rate.py [--labels 2000] [--batch 250] [--target ozone]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atcheck.errors import AtcheckError
from atcheck.oracle import did as did_oracle
from atcheck.oracle.label import verify_label
from atcheck.run import new_run_id
from atcheck.suite.firehose import Frame, Subscription, decode_frame
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role
from atcheck.targets.spec import parse_targets
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.xrpc.client import XrpcClient

TARGET = "skyware-labeler"


@contextmanager
def started(name: str) -> Iterator[RunningTarget]:
    """Start target ``name`` (with the reference PLC it needs) in a stack of its own; always stop it."""
    scratch = Path(tempfile.mkdtemp(prefix="atcheck-bench-"))
    ctx = LaunchContext(run_id=new_run_id(), run_dir=scratch, log_dir=scratch / "logs")
    fallback = [m for n, m in builtin_manifests().items() if n == "reference"]
    stack = Stack(parse_targets([name]).values(), ctx, fallback_providers=fallback)
    try:
        yield stack.start(name)
    finally:
        stack.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)


def _verify(frames: list[Frame], key: object) -> int:
    count = 0
    for frame in frames:
        for label in frame.body.get("labels", []):
            verify_label(label, key)  # type: ignore[arg-type]
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="label stream rate verified by the oracle")
    parser.add_argument("--labels", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--target", default=TARGET, help=f"a labeler target (default {TARGET}; or ozone)")
    args = parser.parse_args(argv)
    try:
        with started(args.target) as running:
            labeler = running.endpoint(Role.LABELER)
            plc = running.endpoint(Role.PLC)
            assert labeler is not None and plc is not None
            client = XrpcClient(labeler.url, token=labeler.credentials.bearer_token)
            did = client.get("/atcheck/labeler").json()["did"]
            doc = XrpcClient(plc.url).get(f"/{did}").json()
            key = did_oracle.verification_key(doc, did, "atproto_label")
            made = time.perf_counter()
            for start in range(0, args.labels, args.batch):
                batch = [
                    {"uri": f"at://{did}/app.bsky.feed.post/3kbench{i:06d}", "val": "bench"}
                    for i in range(start, min(args.labels, start + args.batch))
                ]
                resp = client.request("POST", "/atcheck/labels", json={"labels": batch})
                if resp.status != 200:
                    print(f"creating labels failed: HTTP {resp.status} {resp.text[:200]}", file=sys.stderr)
                    return 2
            made = time.perf_counter() - made
            began = time.perf_counter()
            with Subscription(labeler.url, cursor=0, nsid="com.atproto.label.subscribeLabels") as sub:
                seen = 0
                while seen < args.labels:
                    frame = sub.next(timeout=10)
                    if frame is None:
                        print(f"the replay stalled after {seen} labels", file=sys.stderr)
                        return 2
                    seen += _verify([frame], key)
                frames = list(sub.frames)
            replay = time.perf_counter() - began
            began = time.perf_counter()
            again = [decode_frame(f.raw, stream="bench", index=f.index) for f in frames]
            offline = _verify(again, key)
            oracle = time.perf_counter() - began
    except AtcheckError as exc:
        print(f"{args.target}: cannot start: {exc}", file=sys.stderr)
        return 2
    rate = args.labels / made
    print(f"{args.target}: made {args.labels} labels through the labeler in {made:.2f} s ({rate:,.0f}/s)")
    print(
        f"replay cursor=0: {seen} labels in {len(frames)} frames, each decoded and verified, "
        f"in {replay:.2f} s = {seen / replay:,.0f} labels/s"
    )
    print(f"oracle alone (decode + verify, no network): {offline / oracle:,.0f} labels/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
