"""The ``atcheck report`` command group: ``diff``, ``stability``, ``merge`` and ``site``, all from report.json
files.

Each handler returns the exit status (``diff``: 1 when the new run has a regression; ``stability``: 1 when
any result's verdict differs between the runs; ``merge``: 1 when a
MUST requirement failed other than as a known failure, as ``atcheck run`` of the whole run would; ``site``:
0) and raises :class:`atcheck.errors.UsageError` (exit 2, one line) for input it cannot use: a missing or
malformed report, shards that do not fit together. Nothing here starts a target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from atcheck.errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report diff|stability|merge|site`` to the ``atcheck`` command."""
    report = subparsers.add_parser("report", help="compare, merge and publish reports")
    sub = report.add_subparsers(dest="report_command", metavar="ACTION", required=True)

    diff = sub.add_parser(
        "diff", help="new failures, fixes and changed messages between two runs (exit 1 on a regression)"
    )
    diff.add_argument("old", metavar="OLD", help="the earlier run: its directory or report.json")
    diff.add_argument("new", metavar="NEW", help="the later run: its directory or report.json")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.add_argument(
        "--exact",
        action="store_true",
        help="compare failure messages as written (default: run-specific "
        "values such as DIDs, CIDs, ports and timings are masked)",
    )
    diff.set_defaults(func=cmd_diff)

    stability = sub.add_parser(
        "stability",
        help="did repeated runs give every test the same verdict? (exit 1 if any differs)",
    )
    stability.add_argument(
        "runs", nargs="+", metavar="RUN", help="two or more run directories or report.json files"
    )
    stability.add_argument("--json", action="store_true", help="machine-readable output")
    stability.set_defaults(func=cmd_stability)

    merge = sub.add_parser(
        "merge",
        help="join the reports of `atcheck run --shard I/N` into one report (exit 1 when a MUST failed)",
    )
    merge.add_argument("shards", nargs="+", metavar="DIR", help="each shard's report dir or report.json")
    merge.add_argument("--out", required=True, metavar="DIR", help="where to write the merged report")
    merge.add_argument("--run-id", metavar="ID", help="the merged run's ID (default: <first shard>-merged)")
    merge.set_defaults(func=cmd_merge)

    site = sub.add_parser("site", help="build a static compliance site across implementations and versions")
    site.add_argument(
        "reports", nargs="+", metavar="DIR", help="run directories, report.json files, or folders of runs"
    )
    site.add_argument("--out", required=True, metavar="SITE", help="folder to write the site into")
    site.set_defaults(func=cmd_site)


def cmd_diff(args: argparse.Namespace) -> int:
    from atcheck.report.diff import diff_reports, load, render_text

    result = diff_reports(load(args.old), load(args.new), exact=args.exact)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(result))
    return 1 if result.has_regressions else 0


def cmd_stability(args: argparse.Namespace) -> int:
    from atcheck.report.diff import load
    from atcheck.report.stability import compare_runs, render_text

    result = compare_runs([load(run) for run in args.runs])
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(result))
    return 0 if result.stable else 1


def cmd_merge(args: argparse.Namespace) -> int:
    from atcheck.report.defects import headline
    from atcheck.report.merge import check_compatible, load_shards, write_merged

    shards = load_shards(args.shards)
    for warning in check_compatible(shards):
        print(f"atcheck: {warning}", file=sys.stderr)
    out = Path(args.out)
    report = write_merged(shards, out, run_id=args.run_id)
    print(f"merged {len(shards)} report(s), {len(report.results)} results, into {out}: {headline(report)}")
    return 1 if report.must_failed else 0


def cmd_site(args: argparse.Namespace) -> int:
    from atcheck.report.site import build_site

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    runs = build_site(args.reports, out)
    print(f"site of {len(runs)} run(s) written to {out / 'index.html'}")
    return 0
