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


def vectors_dir() -> Path:
    """The official atproto interop vectors, read where they lie."""
    env = os.environ.get("ATCHECK_VECTORS")
    path = Path(env) if env else project_root().parent / "shared" / "vectors" / "atproto-interop-tests"
    if not path.is_dir():
        raise SetupError(
            f"the official interop vectors are not at {path}",
            hint="set ATCHECK_VECTORS to a checkout of bluesky-social/atproto-interop-tests",
        )
    return path


def suites_dir() -> Path:
    return project_root() / "suites"


def implementations_dir() -> Path:
    return project_root() / "implementations"


def reports_dir() -> Path:
    return Path(os.environ.get("ATCHECK_REPORTS", project_root() / "reports"))
