"""``atcheck selfcheck``: how many of atcheck's seeded faults do the suites catch?

Exit status: 0 when at least :data:`GOAL` of the faults run were killed, 1 when fewer were, 2 on usage or
setup errors (one line, as every atcheck command).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

GOAL = 0.95


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "selfcheck", help="inject faults in front of a target and measure what the suites catch"
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="target to run behind the proxies (default: reference)",
    )
    parser.add_argument(
        "--report-dir",
        metavar="DIR",
        help="where selfcheck.json/html go (default: reports/selfcheck-<time>/)",
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="only this fault (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the fault catalogue and exit")
    parser.set_defaults(func=cmd_selfcheck)


def _term_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so the stack, the proxies and the worker are stopped on the way out."""
    import signal

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)


def cmd_selfcheck(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from atcheck.paths import project_root
    from atcheck.selfcheck.matrix import kill_rate, write_matrix
    from atcheck.selfcheck.runner import select_faults, selfcheck
    from atcheck.targets.spec import parse_target

    faults = select_faults(args.fault)
    if args.list:
        for fault in faults:
            print(f"{fault.name:<34} {fault.category:<10} {fault.role:<8} {','.join(fault.areas)}")
            print(f"{'':<34} {fault.doc}")
        return 0
    targets = [parse_target(t, launcher="process") for t in args.target or ["reference"]]
    _term_as_interrupt()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.report_dir) if args.report_dir else project_root() / "reports" / f"selfcheck-{stamp}"
    check = selfcheck(targets, faults, out, progress=lambda line: print(line, flush=True))
    written = write_matrix(check, out)
    rate = kill_rate(check.results)
    killed = sum(r.killed for r in check.results)
    print(
        f"selfcheck: {killed} of {len(check.results)} faults killed ({rate:.1%}) "
        f"in {check.wall_seconds:.0f} s"
    )
    for kind, path in written.items():
        print(f"  {kind}: {path}")
    survivors = [r for r in check.results if not r.killed]
    for row in survivors:
        why = row.survives or ("never triggered" if row.applied == 0 else "no test noticed it")
        print(f"  survivor: {row.fault} ({row.target}): {why}", file=sys.stderr)
    return 0 if check.results and rate >= GOAL else 1
