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


_VECTORS = Path("shared") / "vectors" / "atproto-interop-tests"


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


@cache
def vectors_dir() -> Path:
    """The official atproto interop vectors, read where they lie (never copied into the project).

    ``ATCHECK_VECTORS`` if set; else ``shared/vectors/atproto-interop-tests`` beside the checkout (or beside
    one of its parent folders); else beside the checkout a clean clone was made from, so a CI clone in a
    temporary folder still finds them.
    """
    env = os.environ.get("ATCHECK_VECTORS")
    if env:
        candidates = [Path(env)]
    else:
        root = project_root()
        bases = [root, *root.parents]
        origin = _origin_checkout(root)
        if origin is not None:
            bases += [origin, *origin.parents]
        candidates = [base.parent / _VECTORS for base in bases if base != base.parent]
    for path in candidates:
        if path.is_dir():
            return path
    raise SetupError(
        f"the official interop vectors are not at {candidates[0] if candidates else '../shared'}",
        hint="set ATCHECK_VECTORS to a checkout of bluesky-social/atproto-interop-tests",
    )


def suites_dir() -> Path:
    return project_root() / "suites"


def implementations_dir() -> Path:
    return project_root() / "implementations"


def reports_dir() -> Path:
    return Path(os.environ.get("ATCHECK_REPORTS", project_root() / "reports"))
