"""What atcheck keeps in its install cache, and removing what this checkout no longer uses.

Installs are keyed by lockfile hashes (``node/<hash>``, ``arroba/<hash>``, ``lexicon-node/<hash>``,
``labeler/<hash>``, ``ozone/<hash>``, ``libs/<language>/<hash>``) or by a pinned version
(``relay/<version>``), so a lockfile change installs afresh and never disturbs another checkout's tree. The
old trees stay until someone removes them: each reference install is ~370 MB (ozone's ~470 MB).
``atcheck cache --prune`` removes every keyed install that this checkout's lockfiles do not name, and the
start-script folders of the current Node install that its scripts no longer match. Container images and
base file systems are ``atcheck containers prune``'s job. ``libs/cargo-target`` (~600 MB), the Rust build
dir every lib-rust install shares so that a harness change rebuilds only itself, is left alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from atcheck.errors import AtcheckError
from atcheck.paths import cache_root

#: Cache folders holding one install per lockfile hash.
KEYED_KINDS = (
    "node",
    "arroba",
    "lexicon-node",
    "relay",
    "labeler",
    "ozone",
    # the library harnesses (scripts/setup-lib.sh); libs/cargo-target, rust's shared build dir, is not keyed
    "libs/python",
    "libs/typescript",
    "libs/go",
    "libs/rust",
)


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    kind: str
    size_bytes: int
    in_use: bool


def _size(path: Path) -> int:
    total = 0
    for child in path.rglob("*"):
        try:
            if child.is_file() and not child.is_symlink():
                total += child.stat().st_size
        except OSError:
            continue
    return total


def _within(path: Path, folder: Path) -> Path | None:
    """The child of ``folder`` that ``path`` lies in, if any.

    Paths are compared as written, not resolved: a venv's ``bin/python`` is a link out of the cache.
    """
    try:
        return folder / path.absolute().relative_to(folder.absolute()).parts[0]
    except (ValueError, IndexError):
        return None


def in_use() -> set[Path]:
    """The cache folders this checkout's lockfiles and scripts name (installed or not)."""
    from atcheck.tools import TOOLS, resolve_tool

    root = cache_root()
    keep: set[Path] = set()
    for name in TOOLS:
        try:
            tool = Path(resolve_tool(name))
        except AtcheckError:
            continue  # not installed for this checkout: nothing of it to keep
        for kind in KEYED_KINDS:
            top = _within(tool, root / kind)
            if top is not None:
                keep.add(top)
                nested = _within(tool, top)  # e.g. node/<hash>/scripts-<hash>
                if nested is not None:
                    keep.add(nested)
    try:
        from atcheck.schema.oracles import node_validator_dir

        keep.add(node_validator_dir())
    except (ImportError, AtcheckError):
        pass
    return keep


def entries() -> list[CacheEntry]:
    """Every keyed install in the cache (and every start-script folder inside a Node install)."""
    root = cache_root()
    keep = in_use()
    found: list[CacheEntry] = []
    for kind in KEYED_KINDS:
        folder = root / kind
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if not child.is_dir():
                continue
            found.append(CacheEntry(child, kind, _size(child), child in keep))
            if kind == "node" and child in keep:
                for scripts in sorted(child.glob("scripts-*")):
                    found.append(CacheEntry(scripts, "node scripts", _size(scripts), scripts in keep))
    return found


def prune(*, dry_run: bool = False) -> list[CacheEntry]:
    """Remove the entries this checkout does not use; returns them."""
    stale = [entry for entry in entries() if not entry.in_use]
    if not dry_run:
        for entry in stale:
            shutil.rmtree(entry.path, ignore_errors=True)
    return stale
