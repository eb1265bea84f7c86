"""Where atcheck's own files live: the project checkout, the install cache, the official vectors.

atcheck runs from a checkout (editable install) or from a wheel: a wheel carries the suites, schemas,
implementation wrappers, lockfiles and setup scripts under ``atcheck/_data/`` (see setup.py), laid out as in
the checkout, so everything below finds them the same way. ``ATCHECK_HOME`` overrides where they are;
``ATCHECK_CACHE`` the cache of installed implementations; ``ATCHECK_VECTORS`` the official interop vectors
(read in place, never copied into the project); ``ATCHECK_REPORTS`` where reports go.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from atcheck.errors import SetupError


def installed_data() -> Path | None:
    """The data a wheel carries (``atcheck/_data``), or None in an editable install (which has none)."""
    data = Path(__file__).resolve().parent / "_data"
    return data if (data / "suites").is_dir() else None


@cache
def project_root() -> Path:
    """The atcheck checkout: ``ATCHECK_HOME``, else the tree this package was installed from (editable),
    else the data folder of the installed wheel (its layout is the checkout's)."""
    env = os.environ.get("ATCHECK_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "suites").is_dir():
            return parent
    data = installed_data()
    if data is not None:
        return data
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
    """``ATCHECK_REPORTS``; else ``reports/`` of the checkout; else, for a wheel (whose data folder sits in
    site-packages, no place for reports), ``reports/`` in the current folder."""
    env = os.environ.get("ATCHECK_REPORTS")
    if env:
        return Path(env)
    root = project_root()
    if root == installed_data():
        return Path.cwd() / "reports"
    return root / "reports"
