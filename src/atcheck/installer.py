"""``atcheck setup [NAME...]``: install built-in implementations into the cache, from a checkout or a wheel.

The work is done by the project's setup scripts (``scripts/setup-*.sh``, shipped in the wheel under
``atcheck/_data/scripts``): they are cached, idempotent and locked, and ``make setup`` runs the same ones, so
a ``pip install``-ed atcheck and a clone share one cache and one install procedure. Which scripts a target
needs is read from its manifest: every tool its services require (``requires = [...]``) names the script that
installs it (:data:`atcheck.tools.TOOLS`). Nothing here knows a target by name.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable

from atcheck.errors import SetupError, UsageError

#: A cold install builds native code (better-sqlite3, the Go relay): minutes on two cores, never an hour.
SCRIPT_TIMEOUT_S = 1800.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``setup`` to the ``atcheck`` command."""
    from atcheck.targets.spec import DEFAULT_TARGETS

    setup = subparsers.add_parser(
        "setup",
        help="install built-in implementations into the cache (idempotent)",
        description="Install the built-in targets' implementations into the install cache "
        "(ATCHECK_CACHE, default ~/.cache/atcheck). Already installed ones take a second.",
    )
    setup.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"built-in targets (default: {', '.join(DEFAULT_TARGETS)}); see `atcheck targets`",
    )
    setup.add_argument("--dry-run", action="store_true", help="only print the scripts that would run")
    setup.set_defaults(func=cmd_setup)


def scripts_for(names: Iterable[str]) -> list[str]:
    """The setup scripts the named built-in targets need, each once, in first-needed order."""
    from atcheck.targets.manifest import builtin_manifests
    from atcheck.tools import TOOLS

    builtins = builtin_manifests()
    scripts: list[str] = []
    for name in names:
        manifest = builtins.get(name.removesuffix("@process"))
        if manifest is None:
            raise UsageError(f"unknown built-in target {name!r} (known: {', '.join(sorted(builtins))})")
        for service in manifest.services:
            for tool in service.process.requires if service.process is not None else ():
                script = TOOLS[tool].script
                if script not in scripts:
                    scripts.append(script)
    return scripts


def run_script(script: str) -> str | None:
    """Run one setup script (its output goes to ours); None when it succeeded, else a one-line reason."""
    from atcheck.paths import project_root

    path = project_root() / script
    if not path.is_file():
        return f"{script} is missing from this install ({path})"
    try:
        done = subprocess.run(["bash", str(path)], timeout=SCRIPT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"{script} did not finish within {SCRIPT_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return f"cannot run bash {path}: {exc}"
    return None if done.returncode == 0 else f"{script} failed with exit status {done.returncode} (see above)"


def cmd_setup(args: argparse.Namespace) -> int:
    """Install what the named (or default) targets need. An optional default target (the Go-built relay)
    that cannot be installed is reported and skipped, as ``make setup`` does; a named one is an error."""
    from atcheck.targets.spec import DEFAULT_TARGETS, OPTIONAL_DEFAULTS
    from atcheck.tools import forget

    named = list(args.names)
    wanted = named or list(DEFAULT_TARGETS)
    plan = {name: scripts_for([name]) for name in wanted}
    if args.dry_run:
        for name, scripts in plan.items():
            print(f"{name}: {' '.join(f'bash {s}' for s in scripts) or 'nothing to install'}")
        return 0
    done: dict[str, str | None] = {}
    problems: list[str] = []
    for name, scripts in plan.items():
        for script in scripts:
            if script not in done:
                print(f"atcheck setup: {name}: {script}", file=sys.stderr, flush=True)
                done[script] = run_script(script)
            reason = done[script]
            if reason is None:
                continue
            if not named and name in OPTIONAL_DEFAULTS:
                print(f"atcheck setup: {name} not installed ({reason}); runs will report it as not run")
            else:
                problems.append(f"{name}: {reason}")
            break
    forget()
    if problems:
        raise SetupError("; ".join(problems))
    print(f"atcheck setup: ready: {', '.join(wanted)}", file=sys.stderr)
    return 0
