"""The ``atcheck`` command.

``atcheck run`` stands up the targets, runs the suites through pytest and writes the reports; ``atcheck
targets`` and ``atcheck requirements`` answer questions without starting anything. Exit status: 0 when every
MUST requirement passed for every target, 1 when one failed, 2 on usage or setup errors (one line on stderr,
never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atcheck import __version__
from atcheck.errors import AtcheckError, SetupError, UsageError

if TYPE_CHECKING:
    from atcheck.run_options import RunOptions
    from atcheck.targets.spec import TargetSpec

EXIT_OK = 0
EXIT_MUST_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Optional command groups that live in their own packages; each module has ``register(subparsers)``.
_COMMAND_MODULES = (
    "atcheck.schema.commands",
    "atcheck.containers.commands",
    "atcheck.installer",
    "atcheck.report.commands",
    "atcheck.selfcheck.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atcheck",
        description="Conformance and interoperability checks for AT Protocol implementations.",
    )
    parser.add_argument("--version", action="version", version=f"atcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="start targets, run the suites, write the reports")
    run.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME|MANIFEST.toml|URL",
        help="target to check (repeatable; default: reference, arroba and skyware-labeler)",
    )
    run.add_argument(
        "--launcher",
        choices=["process", "container"],
        help="start every named (or default) target with this launcher (container = NAME@container)",
    )
    run.add_argument("--suite", action="append", default=[], metavar="AREA", help="suite area (repeatable)")
    run.add_argument(
        "--requirement", action="append", default=[], metavar="ID", help="only tests of this requirement"
    )
    run.add_argument("--report-dir", metavar="DIR", help="report directory (default: reports/<run-id>/)")
    creds = run.add_argument_group(
        "credentials for URL targets",
        "Also read from ATCHECK_ADMIN_PASSWORD, ATCHECK_ACCOUNT_HANDLE, ATCHECK_ACCOUNT_PASSWORD and "
        "ATCHECK_INVITE_CODE, which keep them out of the process list; never written to any report.",
    )
    creds.add_argument("--admin-password", metavar="SECRET", help="admin password of the server")
    creds.add_argument("--account-handle", metavar="HANDLE", help="an existing account to use")
    creds.add_argument("--account-password", metavar="SECRET", help="that account's password")
    creds.add_argument("--invite-code", metavar="CODE", help="an invite code for createAccount")
    run.add_argument(
        "--baseline",
        metavar="FILE",
        help="known failures (TOML): still reported as failed, but only new failures make the exit status 1",
    )
    run.add_argument(
        "--shard",
        metavar="I/N",
        help="run shard I of N (split by target and suite; join the reports with `atcheck report merge`)",
    )
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest -k expression, to narrow a run")
    run.add_argument("--verbose", "-v", action="store_true", help="one line per test")
    run.set_defaults(func=cmd_run)

    targets = sub.add_parser("targets", help="list built-in targets and whether they can run here")
    targets.add_argument("--json", action="store_true", help="machine-readable output")
    targets.set_defaults(func=cmd_targets)

    reqs = sub.add_parser("requirements", help="list the requirement catalogue and the tests of each")
    reqs.add_argument("--area", action="append", default=[], help="only this area (repeatable)")
    reqs.add_argument("--level", choices=["MUST", "SHOULD", "MAY"], help="only this level")
    reqs.add_argument("--untested", action="store_true", help="only requirements no test checks yet")
    reqs.add_argument("--json", action="store_true", help="machine-readable output")
    reqs.set_defaults(func=cmd_requirements)

    cache = sub.add_parser("cache", help="list the install cache; --prune removes what is no longer used")
    cache.add_argument("--prune", action="store_true", help="remove installs no lockfile here names")
    cache.add_argument("--dry-run", action="store_true", help="with --prune: only say what would go")
    cache.add_argument("--json", action="store_true", help="machine-readable output")
    cache.set_defaults(func=cmd_cache)

    base = sub.add_parser("baseline", help="write a baseline of known failures from a report.json")
    base.add_argument("report", metavar="REPORT.json", help="e.g. reports/latest/report.json")
    base.add_argument("--target", action="append", default=[], help="only this target (repeatable)")
    base.set_defaults(func=cmd_baseline)

    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # that command group is not installed in this build
        module.register(sub)
    return parser


# -- run ---------------------------------------------------------------------------------------------------


def _suite_paths(areas: list[str]) -> list[str]:
    from atcheck.paths import suites_dir

    root = suites_dir()
    known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    if not areas:
        return [str(root)]
    unknown = [a for a in areas if a not in known]
    if unknown:
        raise UsageError(f"unknown suite(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return [str(root / a) for a in areas]


def preflight(targets: Iterable[TargetSpec]) -> None:
    """Fail fast, before pytest starts, on what would otherwise fail every test: missing tools, bad URLs."""
    from atcheck.targets.spec import unavailable_reason
    from atcheck.tools import missing_tools

    for target in targets:
        if target.optional and unavailable_reason(target) is not None:
            continue  # the run leaves it out and reports it as not run, with the reason
        if target.launcher == "process":
            for service in target.manifest.services:
                if service.process is not None:
                    problem = missing_tools(service.process.requires)
                    if problem:
                        raise SetupError(f"target {target.name}: {problem}")
        elif target.launcher == "url":
            _check_reachable(target.name, target.manifest)
        # A container target that cannot run here is not a reason to stop the run: the stack reports it as
        # not run, with the reason, and the other targets are still checked (the exit status is then 2).


def _check_reachable(name: str, manifest: Any) -> None:
    import httpx

    from atcheck.errors import TargetUnreachable

    for service in manifest.services:
        url = f"{service.url}{service.health.path}"
        try:
            httpx.get(url, timeout=min(service.health.timeout_s, 10.0))
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"target {name}: {url} does not answer ({type(exc).__name__})") from None


def run_options(args: argparse.Namespace) -> RunOptions:
    """``atcheck run``'s flags as the object the plugin reads: targets parsed once, credentials as values."""
    from atcheck.run_options import CREDENTIAL_VARIABLES, RunOptions, credentials_from
    from atcheck.shard import parse_shard
    from atcheck.targets.spec import parse_targets

    given = {name: getattr(args, name, None) for name in CREDENTIAL_VARIABLES}
    targets = parse_targets(
        args.target, launcher=args.launcher, credentials=credentials_from(os.environ, given)
    )
    return RunOptions(
        targets=tuple(targets.values()),
        requirements=tuple(args.requirement),
        report_dir=Path(args.report_dir) if args.report_dir else None,
        baseline=Path(args.baseline) if args.baseline else None,
        shard=parse_shard(args.shard) if getattr(args, "shard", None) else None,
    )


def pytest_args(paths: list[str], args: argparse.Namespace) -> list[str]:
    """pytest's own options for a run (what to collect, how to show it); the run's are in the options."""
    from atcheck.paths import project_root

    quiet_ci = bool(os.environ.get("CI")) or not sys.stdout.isatty()
    argv = [
        *paths,
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(project_root()),
        # atcheck is imported before pytest starts, so pytest cannot rewrite its asserts; it need not.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        # A ConformanceFailure's message says everything; a traceback only buries it.
        "--tb=line" if not args.verbose else "--tb=short",
        # The short summary lists failures and errors; known failures and skips are in the reports.
        "-rfE",
    ]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.verbose:
        argv.append("-v")
    elif quiet_ci:
        argv += ["-q", "--no-header"]
    return argv


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from atcheck.run_options import RunHandoff
    from atcheck.targets.spec import unavailable_reason

    paths = _suite_paths(args.suite)
    options = run_options(args)
    preflight(options.targets)
    handoff = RunHandoff(options)
    code = pytest.main(pytest_args(paths, args), plugins=[handoff])
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_INTERRUPTED
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        return EXIT_USAGE
    report = handoff.report
    if report is None:
        raise SetupError("the run did not start or wrote no report (see the messages above)")
    not_started = [t for t in report.targets if t.status != "ran" and t.reason]
    for target in not_started:
        print(f"atcheck: target {target.name} did not run: {target.reason}", file=sys.stderr)
    # An optional default target that cannot run here is reported, but is not a reason to fail the run.
    optional = {t.name for t in options.targets if t.optional and unavailable_reason(t) is not None}
    not_started = [t for t in not_started if t.name not in optional]
    if options.shard is not None:  # another shard runs the tests of a target this one never needed
        from atcheck.run import IDLE_REASON

        not_started = [t for t in not_started if t.reason != IDLE_REASON]
    if report.must_failed:
        return EXIT_MUST_FAILED
    if not_started:
        return EXIT_USAGE
    return EXIT_OK


# -- targets -----------------------------------------------------------------------------------------------


def target_rows() -> list[dict[str, Any]]:
    from atcheck.targets.manifest import builtin_manifests
    from atcheck.targets.spec import TargetSpec
    from atcheck.tools import missing_tools

    rows = []
    for name, manifest in sorted(builtin_manifests().items()):
        problems = [
            p for s in manifest.services if s.process is not None if (p := missing_tools(s.process.requires))
        ]
        rows.append(
            {
                "name": name,
                "implementation": manifest.implementation,
                "version": manifest.version,
                "roles": [r.value for r in manifest.roles],
                "launcher": "process",
                "available": not problems,
                "reason": problems[0] if problems else None,
                "description": manifest.description,
            }
        )
        if any(s.container is not None for s in manifest.services):
            reason = _container_reason()
            rows.append(
                {
                    **rows[-1],
                    "name": TargetSpec.of(manifest, "container").name,
                    "launcher": "container",
                    "available": reason is None,
                    "reason": reason,
                }
            )
    return rows


def _container_reason() -> str | None:
    from atcheck.targets.launchers.registry import new_launcher

    try:
        launcher = new_launcher("container")
    except ImportError:
        return "the container launcher is not installed"
    return launcher.unavailable_reason()


def cmd_targets(args: argparse.Namespace) -> int:
    rows = target_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for row in rows:
        state = "ready" if row["available"] else f"cannot run here: {row['reason']}"
        print(f"{row['name']:<22} {row['implementation']} {row['version']}  roles={','.join(row['roles'])}")
        print(f"{'':<22} {row['launcher']} launcher; {state}")
    return EXIT_OK


# -- requirements ------------------------------------------------------------------------------------------


def cmd_requirements(args: argparse.Namespace) -> int:
    from atcheck.catalogue import load_catalogue
    from atcheck.paths import project_root, suites_dir
    from atcheck.suite_index import tests_by_requirement

    catalogue = load_catalogue()
    tests = tests_by_requirement(suites_dir(), project_root())
    areas = set(args.area)
    known_areas = set(catalogue.areas)
    unknown = sorted(areas - known_areas)
    if unknown:
        raise UsageError(f"unknown area(s) {', '.join(unknown)} (known: {', '.join(sorted(known_areas))})")
    rows = []
    for req in catalogue:
        if areas and req.area not in areas:
            continue
        if args.level and req.level != args.level:
            continue
        if args.untested and tests.get(req.id):
            continue
        rows.append(
            {
                "id": req.id,
                "level": req.level,
                "area": req.area,
                "statement": req.statement,
                "spec": req.spec,
                "tests": tests.get(req.id, []),
                "untested": req.untestable,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for row in rows:
        print(f"{row['id']:<16} {row['level']:<6} {row['area']:<10} {row['statement']}")
        print(f"{'':<16} spec: {row['spec']}")
        untested = f"(no test yet: {row['untested']})" if row["untested"] else "(no test yet)"
        for test in row["tests"] or [untested]:
            print(f"{'':<16} test: {test}")
    tested = sum(1 for r in rows if r["tests"])
    print(f"{len(rows)} requirements, {tested} with at least one test", file=sys.stderr)
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from atcheck import cache
    from atcheck.paths import cache_root

    removed = cache.prune(dry_run=args.dry_run) if args.prune else []
    listed = removed if args.prune else cache.entries()
    if args.json:
        rows = [
            {"path": str(e.path), "kind": e.kind, "bytes": e.size_bytes, "in_use": e.in_use} for e in listed
        ]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    verb = "would remove" if args.dry_run else "removed"
    for entry in listed:
        state = verb if args.prune else ("in use" if entry.in_use else "stale")
        print(f"{entry.size_bytes / 1e6:9.1f} MB  {state:<12} {entry.kind:<13} {entry.path}")
    total = sum(e.size_bytes for e in listed) / 1e6
    what = f"{verb} {len(listed)} entries" if args.prune else f"{len(listed)} entries"
    print(f"{what}, {total:.1f} MB, in {cache_root()}", file=sys.stderr)
    return EXIT_OK


def cmd_baseline(args: argparse.Namespace) -> int:
    from atcheck.baseline import baseline_from_report

    try:
        data = json.loads(Path(args.report).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{args.report}: no such report") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{args.report}: not a readable report.json ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise UsageError(f"{args.report}: not an atcheck report.json (no results)")
    sys.stdout.write(baseline_from_report(data, set(args.target) or None))
    return EXIT_OK


# -- entry point -------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.func(args)
    except AtcheckError as exc:
        print(f"atcheck: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("atcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `atcheck requirements | head`
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
