"""Where atcheck's own files live: the project checkout, the install cache, the official vectors.

atcheck runs from a checkout (the suites, implementation wrappers and lockfiles live there, not in the wheel).
``ATCHECK_HOME`` overrides the checkout's location; ``ATCHECK_CACHE`` the cache of installed implementations;
``ATCHECK_VECTORS`` the official interop vectors (read in place, never copied into the project).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from atcheck.errors import SetupError


@cache
def project_root() -> Path:
    """The atcheck checkout: ``ATCHECK_HOME``, else the tree this package was installed from (editable)."""
    env = os.environ.get("ATCHECK_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "suites").is_dir():
            return parent
    cwd = Path.cwd()
    if (cwd / "suites").is_dir():
        return cwd
    raise SetupError(
        "cannot find the atcheck checkout (suites/, implementations/)",
        hint="set ATCHECK_HOME to it",
    )


def cache_root() -> Path:
    return Path(os.environ.get("ATCHECK_CACHE", Path.home() / ".cache" / "atcheck"))


_VECTORS = Path("vectors") / "atproto-interop-tests"


def _origin_checkout(root: Path) -> Path | None:
    """The local checkout this one was cloned from, if its ``origin`` is a path (a CI clean clone)."""
    config = root / ".git" / "config"
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return None
    section = text.split('[remote "origin"]', 1)
    if len(section) < 2:
        return None
    for line in section[1].splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip() == "url":
            url = value.strip().removeprefix("file://")
            return Path(url) if url.startswith("/") and Path(url).is_dir() else None
        if line.startswith("["):
            break
    return None


#: No ``shared/`` folder is looked for outside this folder (None: up to the filesystem root). Self-tests set
#: it to their temp folder, so that a ``shared/`` elsewhere on the machine cannot change their outcome.
search_ceiling: Path | None = None


def _shared_candidates() -> list[Path]:
    """Where the team's ``shared/`` folder may be: beside the checkout or one of its parents, then beside
    the checkout a clean clone was made from (a CI clone in a temporary folder)."""
    root = project_root()
    bases = [root, *root.parents]
    origin = _origin_checkout(root)
    if origin is not None:
        bases += [origin, *origin.parents]
    return [
        base.parent / "shared"
        for base in bases
        if base != base.parent and (search_ceiling is None or base.parent.is_relative_to(search_ceiling))
    ]


def shared_file(relative: str | Path) -> Path | None:
    """A file or folder of ``shared/`` (design notes, vectors), wherever that folder is found; else None."""
    for shared in _shared_candidates():
        if (shared / relative).exists():
            return shared / relative
    return None


@cache
def vectors_dir() -> Path:
    """The official atproto interop vectors, read where they lie (never copied into the project).

    ``ATCHECK_VECTORS`` if set; else ``shared/vectors/atproto-interop-tests`` found by :func:`shared_file`.
    """
    env = os.environ.get("ATCHECK_VECTORS")
    found = Path(env) if env else shared_file(_VECTORS)
    if found is not None and found.is_dir():
        return found
    looked = Path(env) if env else project_root().parent / "shared" / _VECTORS
    raise SetupError(
        f"the official interop vectors are not at {looked}",
        hint="set ATCHECK_VECTORS to a checkout of bluesky-social/atproto-interop-tests",
    )


def suites_dir() -> Path:
    return project_root() / "suites"


def implementations_dir() -> Path:
    return project_root() / "implementations"


def reports_dir() -> Path:
    return Path(os.environ.get("ATCHECK_REPORTS", project_root() / "reports"))
