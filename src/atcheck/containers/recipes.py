"""The images atcheck builds, as data: what goes into each, and which versions its tag names.

A recipe's image copies trees that setup scripts already installed on the host (Node 22, node_modules) into
the Debian base, *at the same absolute paths*. Why the same paths: a service's ``[service.container]`` command
can then use the very placeholders its ``[service.process]`` command uses (``{tool:node22}``,
``{implementations}``...), rendered identically inside and outside the container; the paths are part of the
image's input hash, so a checkout at another path simply gets its own image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atcheck.paths import project_root

#: The Debian release and debootstrap variant of the base image.
BASE_SUITE = "bookworm"
BASE_VARIANT = "minbase"
BASE_REPOSITORY = "atcheck/base"
#: Bump when the way the base is made changes (packages removed after debootstrap, etc.).
BASE_RECIPE_REVISION = "1"
#: Libraries beyond minbase that the copied interpreters load: Python's _ssl, pyexpat and _sqlite3 modules.
BASE_PACKAGES = ("libssl3", "libexpat1", "libsqlite3-0")


@dataclass(frozen=True)
class TreeInput:
    """A host file or directory copied into the image at the same path.

    Exactly one of ``tool`` (a tool name from :mod:`atcheck.tools`, resolved by its setup script) and
    ``checkout_path`` (relative to the checkout) is set. ``exclude`` names directories skipped at any depth.
    """

    tool: str | None = None
    checkout_path: str | None = None
    exclude: tuple[str, ...] = ()
    optional: bool = False  # a checkout path that may not exist yet
    up: int = 0  # copy the tool path's n-th parent instead (a venv for its bin/python: up=2)
    venv_base: bool = False  # copy the Python installation the tool's venv was made from (pyvenv.cfg home)


@dataclass(frozen=True)
class VersionLabel:
    """A version to show in the tag: ``label`` plus a version found below a tool's path.

    ``package_json`` is a path (relative to the tool's path) of an npm package.json; ``dist`` is the name of a
    Python distribution installed in the venv whose interpreter the tool is.
    """

    label: str
    tool: str
    package_json: str | None = None
    dist: str | None = None


@dataclass(frozen=True)
class Recipe:
    """One image: its Dockerfile folder under ``containers/``, its inputs and the versions its tag names."""

    name: str
    description: str
    inputs: tuple[TreeInput, ...]
    versions: tuple[VersionLabel, ...] = ()
    #: Symlinks made in the image: (path in the image, tool it points to), e.g. /usr/local/bin/node -> node22.
    links: tuple[tuple[str, str], ...] = ()
    #: A quick command (placeholders: {tool:NAME}) that proves the image can run its program at all.
    smoke: tuple[str, ...] = ()
    #: Its host install is optional (the relay needs Go): building every image leaves it out when missing.
    optional: bool = False

    @property
    def repository(self) -> str:
        return f"atcheck/{self.name}"

    @property
    def folder(self) -> Path:
        return project_root() / "containers" / self.name


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="reference",
            description="Bluesky's TypeScript PDS (@atproto/pds) and PLC (@did-plc/server) on Node 22",
            inputs=(
                TreeInput(tool="node22"),
                TreeInput(tool="reference_dir"),
                # atcheck's start scripts for the reference (node_modules come from reference_dir).
                TreeInput(
                    checkout_path="implementations/reference", exclude=("node_modules",), optional=True
                ),
            ),
            versions=(
                VersionLabel("pds", "reference_dir", "node_modules/@atproto/pds/package.json"),
                VersionLabel("plc", "reference_dir", "node_modules/@did-plc/server/package.json"),
            ),
            links=(("/usr/local/bin/node", "node22"),),
            smoke=(
                "{tool:node22}",
                "-e",
                "import('{tool:reference_dir}/node_modules/@atproto/pds/dist/index.js')"
                ".then(() => console.log('smoke ok'))",
            ),
        ),
        Recipe(
            name="arroba",
            description="arroba (Python PDS library) served by atcheck's Flask wrapper",
            inputs=(
                TreeInput(tool="arroba_python", up=2),  # the venv
                # The interpreter the venv links to, without what a server never loads.
                TreeInput(
                    tool="arroba_python",
                    venv_base=True,
                    exclude=(
                        "test",
                        "tests",
                        "idlelib",
                        "tkinter",
                        "turtledemo",
                        "ensurepip",
                        "site-packages",
                    ),
                ),
                TreeInput(checkout_path="implementations/arroba", exclude=("__pycache__",)),
            ),
            versions=(VersionLabel("arroba", "arroba_python", dist="arroba"),),
            smoke=(
                "{tool:arroba_python}",
                "-c",
                "import ssl, sqlite3, pyexpat, flask, arroba; print('smoke ok')",
            ),
        ),
        Recipe(
            name="skyware-labeler",
            description="@skyware/labeler (a standalone labeler) and atcheck's start script on Node 22",
            inputs=(
                TreeInput(tool="node22"),
                # The start script's dir; its node_modules symlink brings the shared install along.
                TreeInput(tool="labeler_dir"),
            ),
            versions=(VersionLabel("labeler", "labeler_dir", "node_modules/@skyware/labeler/package.json"),),
            links=(("/usr/local/bin/node", "node22"),),
            # The library loads, and libsql's prebuilt native binary runs on the base's glibc.
            smoke=(
                "{tool:node22}",
                "--input-type=module",
                "-e",
                "await import('{tool:labeler_dir}/node_modules/"
                "@skyware/labeler/dist/index.js'); const { createClient } = await import("
                "'{tool:labeler_dir}/node_modules/@libsql/client/lib-esm/node.js'); "
                "await createClient({ url: ':memory:' }).execute('select 1'); console.log('smoke ok')",
            ),
        ),
        Recipe(
            name="indigo-relay",
            description="Bluesky's relay (indigo cmd/relay) and atcheck's start wrapper",
            inputs=(
                TreeInput(tool="indigo_relay", up=2),  # relay/<version>/, the binary and its marker
                # The wrapper is stdlib Python (sqlite3, sockets): arroba's venv and the interpreter it links
                # to are the Python that setup installs anyway.
                TreeInput(tool="arroba_python", up=2, exclude=("site-packages",)),
                TreeInput(
                    tool="arroba_python",
                    venv_base=True,
                    exclude=(
                        *("test", "tests", "idlelib", "tkinter"),
                        *("turtledemo", "ensurepip", "site-packages"),
                    ),
                ),
                TreeInput(checkout_path="implementations/indigo-relay", exclude=("__pycache__",)),
            ),
            # The wrapper's Python and the relay binary (cgo, against the base's glibc) both run.
            smoke=(
                "{tool:arroba_python}",
                "-c",
                "import sqlite3, subprocess; subprocess.run(['{tool:indigo_relay}', '--help'], check=True,"
                " capture_output=True); print('smoke ok')",
            ),
            optional=True,
        ),
    )
}


def recipe_for_image(image: str) -> Recipe | None:
    """The recipe that makes ``image`` when it names one of ours without a tag (``atcheck/reference``)."""
    for recipe in RECIPES.values():
        if image == recipe.repository:
            return recipe
    return None
