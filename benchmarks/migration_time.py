"""Account migration wall time per pair: the official flow, every step, driven by atcheck.

For each pair (today reference -> reference#2, a second instance on the same PLC), make an account with
``--records`` records and one blob (referenced by a record) on the source, then time
:func:`atcheck.suite.migration.migrate` from service auth to the old account's deactivation, ``--repeat``
times, a fresh account each time. Prints the best and the median. Asserts nothing.

    .venv/bin/python benchmarks/migration_time.py [--records 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _stack import started

from atcheck.accounts import AccountFactory
from atcheck.errors import AtcheckError
from atcheck.suite import TargetUnderTest, note, write_record
from atcheck.suite.migration import migrate
from atcheck.targets.model import Role
from atcheck.xrpc.client import EvidenceRecorder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="account migration wall time per pair")
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        with started(["reference"]) as (stack, running):
            recorder = EvidenceRecorder()
            source_run = running["reference"]
            twin_run = stack.start_instance("reference")
            source = TargetUnderTest("reference", source_run.manifest, source_run, recorder)
            twin = TargetUnderTest(twin_run.name, twin_run.manifest, twin_run, recorder)
            pds = source.endpoint(Role.PDS)
            factory = AccountFactory(pds, source.client(), provisioning="xrpc", handle_domain=".test")
            times: list[float] = []
            for _ in range(max(1, args.repeat)):
                account = factory()
                blob = secrets.token_bytes(4096)
                up = account.client.procedure(
                    "com.atproto.repo.uploadBlob", data=blob, content_type="image/png"
                )
                ref = up.json()["blob"]
                write_record(account, {"$type": "com.example.atcheck.bench", "blob": ref}, rkey="blob")
                for i in range(args.records):
                    write_record(account, note(f"r{i}", "com.example.atcheck.bench"), rkey=f"r{i:04d}")
                recorder.clear()
                began = time.perf_counter()
                migrate(account, source, twin)
                times.append(time.perf_counter() - began)
    except AtcheckError as exc:
        print(f"cannot start the reference stack: {exc}", file=sys.stderr)
        return 2
    print(
        f"reference -> {twin_run.name}: {args.records} records + 1 blob, "
        f"best {min(times):.2f} s, median {statistics.median(times):.2f} s ({len(times)} runs)"
    )
    print("reference -> arroba, arroba -> reference: not run (arroba has no createAccount, no passwords)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
