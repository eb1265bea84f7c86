"""Build hook: a wheel of atcheck carries what a run needs besides the code, under ``atcheck/_data/``.

``pip install atcheck`` must give a working ``atcheck run`` from any folder, with no clone: so the suites, the
generated schemas, the implementation wrappers and lockfiles, the setup scripts, the container recipes and the
fixtures are copied into the package at build time (setuptools has no ``force-include``). The checkout keeps
them at the top level, where the README's commands use them; an editable install (``pip install -e``) copies
nothing and :mod:`atcheck.paths` finds the checkout instead. Metadata lives in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

#: Folders of the checkout shipped whole (minus caches), and single files, relative to the checkout.
DATA_DIRS = ("suites", "schemas", "implementations", "containers", "fixtures")
DATA_FILES = (
    "conftest.py",  # the Hypothesis profiles the suites run under
    "pyproject.toml",  # pytest's options for the suites (import mode, markers, strict xfail)
    "scripts/_setup-common.sh",  # sourced by every setup script below
    "scripts/setup-node.sh",
    "scripts/setup-arroba.sh",
    "scripts/setup-labeler.sh",
    "scripts/setup-relay.sh",
    "scripts/build-images.sh",
    "scripts/docker-engine.sh",
)
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", ".pytest_cache", ".hypothesis")


def copy_data(dest: Path) -> None:
    """Copy the checkout's run-time data into ``dest`` (``.../atcheck/_data``), replacing what is there."""
    shutil.rmtree(dest, ignore_errors=True)
    for name in DATA_DIRS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, ignore=_SKIP)
    for name in DATA_FILES:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


class BuildWithData(build_py):
    """``build_py`` plus the data folders; skipped for an editable install, which reads the checkout."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            copy_data(Path(self.build_lib) / "atcheck" / "_data")


setup(cmdclass={"build_py": BuildWithData})
