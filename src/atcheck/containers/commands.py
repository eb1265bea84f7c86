"""The ``atcheck containers`` command group: ``build``, ``list``, ``prune``, ``compare``.

``build`` makes the images the container launcher runs (offline, skipped when the inputs did not change);
``list`` shows them and whether each is current; ``prune`` removes what runs left behind and superseded
images; ``compare`` checks that a target gave the same outcomes under both launchers.
Heavy imports happen inside the handlers so that ``atcheck --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from atcheck.errors import SetupError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``containers build|list|prune`` to the ``atcheck`` command."""
    from atcheck.containers.recipes import RECIPES

    known = ", ".join(["base", *sorted(RECIPES)])
    group = subparsers.add_parser("containers", help="images and leftovers of the container launcher")
    sub = group.add_subparsers(dest="containers_command", metavar="ACTION", required=True)

    build = sub.add_parser("build", help="build atcheck's images offline (skipped when up to date)")
    build.add_argument("names", nargs="*", metavar="IMAGE", help=f"images to build (default: all): {known}")
    build.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    build.set_defaults(func=cmd_build)

    listing = sub.add_parser("list", help="atcheck's images; * marks the ones current inputs give")
    listing.set_defaults(func=cmd_list)

    prune = sub.add_parser(
        "prune", help="remove leftovers of dead runs and superseded images (--all: everything of atcheck's)"
    )
    prune.add_argument(
        "--all",
        action="store_true",
        help="also current images, and containers/networks of runs that are still going",
    )
    prune.set_defaults(func=cmd_prune)

    compare = sub.add_parser(
        "compare", help="exit 1 unless two targets of a report have the same outcome for every check"
    )
    compare.add_argument("report", type=Path, metavar="REPORT", help="a report.json, or its run directory")
    compare.add_argument(
        "--left", help="a target of the report (default: every NAME of a NAME@container pair)"
    )
    compare.add_argument("--right", help="a target of the report (default: that NAME@container)")
    compare.add_argument(
        "--optional",
        action="append",
        default=[],
        metavar="NAME",
        help="a pair with NAME that did not run is reported, not a failure (repeatable; e.g. indigo-relay)",
    )
    compare.set_defaults(func=cmd_compare)


def _engine_or_fail() -> None:
    from atcheck.containers.engine import engine_problem

    problem = engine_problem()
    if problem:
        raise SetupError(problem)


def cmd_build(args: argparse.Namespace) -> int:
    from atcheck.containers.builder import build

    def progress(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    for result in build(list(args.names), force=args.force, progress=progress):
        state = f"built in {result.seconds:.1f} s" if result.built else "up to date"
        print(f"{result.name:<10} {result.tag}  {state}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from atcheck.containers.builder import list_images

    _engine_or_fail()
    images = list_images()
    if not images:
        print("no atcheck images (build them: atcheck containers build)")
        return 0
    for image in images:
        mark = "*" if image.current else " "
        print(f"{mark} {image.name:<10} {image.tag:<56} {image.size_mb:7.0f} MB  {image.created}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from atcheck.containers import cleanup, engine
    from atcheck.containers.builder import prune_cache, prune_images

    _engine_or_fail()
    client = engine.client()
    try:
        removed = cleanup.remove_resources(client, stale_only=not args.all)
    finally:
        client.close()
    print(f"removed {removed.summary()} left by atcheck runs")
    for tag in prune_images(everything=args.all):
        print(f"removed image {tag}")
    for path in prune_cache(everything=args.all):
        print(f"removed cached {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from atcheck.containers.compare import compare_file

    status = 0
    for pair in compare_file(args.report, args.left, args.right):
        if pair.not_compared is not None:
            optional = pair.left.removesuffix("@container") in args.optional
            print(f"NOT COMPARED {pair.left} and {pair.right}: {pair.not_compared}")
            status = status if optional else 1
            continue
        for diff in pair.differences:
            print(
                f"DIFFERS {diff.test_id}: {pair.left} {diff.left}, {pair.right} {diff.right}  {diff.detail}"
            )
        if pair.differences:
            print(
                f"{len(pair.differences)} of {pair.total} checks differ between {pair.left} and {pair.right}"
            )
            status = 1
        else:
            print(f"{pair.total} checks, same outcome for {pair.left} and {pair.right}")
    return status
