"""Build atcheck's images offline, and rebuild them only when what goes into them changed.

The base is ``debootstrap --variant=minbase`` of Debian bookworm, imported with ``docker import``; its root
filesystem is cached as a tarball, so a new engine (or a pruned one) gets the base back in seconds. Each
recipe image is ``docker build`` of ``containers/<name>/Dockerfile`` on that base, with a context that
holds hard links to the host trees it copies: the build itself never touches the network.

Every image's tag ends with a hash of its inputs (the Dockerfile folder, the base, the copied trees), so
"is it built?" is "does this tag exist?", and nothing is rebuilt when nothing changed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atcheck.containers import engine
from atcheck.containers.recipes import (
    BASE_RECIPE_REVISION,
    BASE_REPOSITORY,
    BASE_SUITE,
    BASE_VARIANT,
    RECIPES,
    Recipe,
    TreeInput,
)
from atcheck.errors import SetupError
from atcheck.paths import cache_root, project_root
from atcheck.targets.tools import resolve_tool

LABEL_IMAGE = "org.atcheck.image"  # the recipe name, on every image atcheck builds
LABEL_INPUTS = "org.atcheck.inputs"  # the input hash the tag ends with
DEBOOTSTRAP_TIMEOUT_S = 900.0
BUILD_TIMEOUT_S = 1800.0

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` did for one image."""

    name: str
    tag: str
    built: bool  # False when the tag already existed
    seconds: float


def debian_mirror() -> str:
    return os.environ.get("ATCHECK_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def containers_cache() -> Path:
    return cache_root() / "containers"


# -- hashing inputs ------------------------------------------------------------------------------------------


def _digest() -> Any:
    return hashlib.sha256()


def _hash_file(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


def _walk(root: Path, exclude: tuple[str, ...]) -> Iterator[Path]:
    """Every file and symlink below ``root``, sorted, skipping directories named in ``exclude``."""
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in exclude)
        here = Path(current)
        links = [d for d in dirs if (here / d).is_symlink()]
        for name in sorted([*files, *links]):
            yield here / name


def tree_fingerprint(root: Path, exclude: tuple[str, ...] = ()) -> str:
    """A hash that changes when the tree's content changes.

    Small files are hashed by content. An installed ``node_modules`` is represented by the lockfile npm writes
    into it (``node_modules/.package-lock.json``) plus the size and mtime of every file in it: hashing ~400 MB
    on every run would cost seconds, and a reinstall touches the mtimes anyway.
    """
    digest = _digest()
    if root.is_file():
        stat = root.stat()
        digest.update(f"{root}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_mode}".encode())
        return str(digest.hexdigest())
    if not root.is_dir():
        raise SetupError(f"{root} is missing; cannot build an image from it")
    for path in _walk(root, exclude):
        rel = path.relative_to(root)
        if path.is_symlink():
            digest.update(f"L|{rel}|{os.readlink(path)}\n".encode())
            continue
        stat = path.lstat()
        if "node_modules" in rel.parts and rel.name != ".package-lock.json":
            digest.update(f"S|{rel}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_mode}\n".encode())
        else:
            digest.update(f"F|{rel}|{stat.st_mode}|".encode())
            _hash_file(digest, path)
    return str(digest.hexdigest())


# -- the base image ------------------------------------------------------------------------------------------


def base_tag() -> str:
    folder = _folder_hash(project_root() / "containers" / "base")
    spec = f"{BASE_SUITE}|{BASE_VARIANT}|{BASE_RECIPE_REVISION}|{folder}"
    return f"{BASE_REPOSITORY}:{BASE_SUITE}-{BASE_VARIANT}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"


def _folder_hash(folder: Path) -> str:
    return tree_fingerprint(folder) if folder.is_dir() else "none"


def image_exists(tag: str) -> bool:
    client = engine.client()
    try:
        try:
            client.images.get(tag)
        except engine.docker_errors().ImageNotFound:
            return False
        return True
    finally:
        client.close()


def build_base(*, force: bool = False, progress: Progress = _quiet) -> BuildResult:
    """Make the base image: import the cached root filesystem, debootstrapping it first when missing."""
    tag = base_tag()
    started = time.monotonic()
    if not force and image_exists(tag):
        return BuildResult("base", tag, built=False, seconds=time.monotonic() - started)
    tarball = containers_cache() / f"rootfs-{tag.split(':', 1)[1]}.tar"
    if force or not tarball.is_file():
        _debootstrap(tarball, progress)
    progress(f"importing {tarball.name} as {tag}")
    with tarball.open("rb") as handle:
        done = subprocess.run(
            [
                "docker",
                "-H",
                engine.docker_host(),
                "import",
                "--change",
                f"LABEL {LABEL_IMAGE}=base",
                "--change",
                f"LABEL {LABEL_INPUTS}={tag.rsplit('-', 1)[1]}",
                "--change",
                'CMD ["/bin/bash"]',
                "-",
                tag,
            ],
            stdin=handle,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise SetupError(f"docker import of the base failed: {_last_line(done.stderr)}")
    return BuildResult("base", tag, built=True, seconds=time.monotonic() - started)


def _debootstrap(tarball: Path, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise SetupError(
            "debootstrap is not installed; it makes the Debian base image",
            hint="apt-get install debootstrap, or run bash scripts/build-images.sh",
        )
    if os.geteuid() != 0:
        raise SetupError("debootstrap needs root to make the Debian base image")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="atcheck-debootstrap-", dir=tarball.parent) as scratch:
        rootfs = Path(scratch) / "rootfs"
        log = tarball.with_suffix(".debootstrap.log")
        progress(f"debootstrap --variant={BASE_VARIANT} {BASE_SUITE} from {debian_mirror()} (log {log})")
        with log.open("wb") as out:
            try:
                done = subprocess.run(
                    ["debootstrap", f"--variant={BASE_VARIANT}", BASE_SUITE, str(rootfs), debian_mirror()],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=DEBOOTSTRAP_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise SetupError(
                    f"debootstrap did not finish within {DEBOOTSTRAP_TIMEOUT_S:g} s; see {log}"
                ) from None
        if done.returncode != 0:
            raise SetupError(
                f"debootstrap failed ({done.returncode}): {_last_line(log.read_text(errors='replace'))}"
            )
        # Downloaded packages and package lists are dead weight in an image that never runs apt offline.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / leftover).glob("*"):
                if entry.is_file():
                    entry.unlink()
        partial = tarball.with_suffix(".partial")
        with tarfile.open(partial, "w") as archive:
            for entry in sorted(rootfs.iterdir()):
                archive.add(entry, arcname=entry.name)
        partial.replace(tarball)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


# -- recipe images -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedTree:
    path: Path
    exclude: tuple[str, ...]


def resolve_inputs(recipe: Recipe) -> list[ResolvedTree]:
    """The host paths of a recipe's inputs; SetupError (naming the setup script) when a tool is missing."""
    trees = []
    for item in recipe.inputs:
        trees.extend(_resolve(item))
    return trees


def _resolve(item: TreeInput) -> list[ResolvedTree]:
    if item.tool is not None:
        return [ResolvedTree(Path(resolve_tool(item.tool)).resolve(), item.exclude)]
    assert item.checkout_path is not None
    path = (project_root() / item.checkout_path).resolve()
    if not path.exists():
        if item.optional:
            return []
        raise SetupError(f"{path} is missing from the checkout")
    return [ResolvedTree(path, item.exclude)]


def recipe_versions(recipe: Recipe) -> str:
    """``pds-0.5.35-plc-0.0.1``: the pinned versions the image holds, for its tag."""
    parts = []
    for version in recipe.versions:
        package = Path(resolve_tool(version.tool)) / version.package_json
        try:
            value = str(json.loads(package.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError):
            raise SetupError(f"cannot read the version of {version.label} from {package}") from None
        parts.append(f"{version.label}-{value}")
    return "-".join(parts)


def image_tag(recipe: Recipe) -> str:
    """The tag the recipe's image has for the inputs installed now."""
    digest = _digest()
    digest.update(f"base={base_tag()}\n".encode())
    digest.update(f"folder={_folder_hash(recipe.folder)}\n".encode())
    for tree in resolve_inputs(recipe):
        digest.update(
            f"tree={tree.path}|{tree.exclude}|{tree_fingerprint(tree.path, tree.exclude)}\n".encode()
        )
    versions = recipe_versions(recipe)
    return f"{recipe.repository}:{versions + '-' if versions else ''}{digest.hexdigest()[:12]}"


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(source, target, follow_symlinks=False)


def _stage(trees: list[ResolvedTree], rootfs: Path) -> None:
    """Hard-link every input tree into ``rootfs`` at its own absolute path (copies across file systems)."""
    for tree in trees:
        target = rootfs / tree.path.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if tree.path.is_file():
            _link_or_copy(str(tree.path), str(target))
            continue
        shutil.copytree(
            tree.path,
            target,
            symlinks=True,
            ignore=shutil.ignore_patterns(*tree.exclude) if tree.exclude else None,
            copy_function=_link_or_copy,
            dirs_exist_ok=True,
        )


def build_image(recipe: Recipe, *, force: bool = False, progress: Progress = _quiet) -> BuildResult:
    """Build ``recipe``'s image unless its tag for the current inputs exists already."""
    started = time.monotonic()
    base = build_base(progress=progress)
    tag = image_tag(recipe)
    if not force and image_exists(tag):
        return BuildResult(recipe.name, tag, built=False, seconds=time.monotonic() - started)
    dockerfile = recipe.folder / "Dockerfile"
    if not dockerfile.is_file():
        raise SetupError(f"{dockerfile} is missing")
    build_args = {"BASE": base.tag, **{arg: resolve_tool(tool) for arg, tool in recipe.tool_args}}
    log_path = containers_cache() / "logs" / f"build-{recipe.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"context-{recipe.name}-", dir=containers_cache()) as scratch:
        context = Path(scratch)
        shutil.copytree(recipe.folder, context, dirs_exist_ok=True)
        progress(f"staging the inputs of {recipe.name} (hard links)")
        _stage(resolve_inputs(recipe), context / "rootfs")
        progress(f"docker build {tag} (log {log_path})")
        _docker_build(
            context,
            tag,
            build_args,
            {LABEL_IMAGE: recipe.name, LABEL_INPUTS: tag.rsplit("-", 1)[1]},
            log_path,
        )
    return BuildResult(recipe.name, tag, built=True, seconds=time.monotonic() - started)


def _docker_build(
    context: Path, tag: str, args: dict[str, str], labels: dict[str, str], log_path: Path
) -> None:
    client = engine.client(timeout_s=BUILD_TIMEOUT_S)
    error: str | None = None
    try:
        with log_path.open("w", encoding="utf-8") as log:
            stream = client.api.build(
                path=str(context),
                tag=tag,
                buildargs=args,
                labels=labels,
                rm=True,
                forcerm=True,
                network_mode="none",  # the build copies what the host installed; it needs no network
                decode=True,
            )
            for chunk in stream:
                if "stream" in chunk:
                    log.write(str(chunk["stream"]))
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    log.write(f"ERROR: {error}\n")
    finally:
        client.close()
    if error:
        raise SetupError(f"docker build of {tag} failed: {error.splitlines()[-1][:300]} (log {log_path})")


def build(
    names: list[str] | None = None, *, force: bool = False, progress: Progress = _quiet
) -> list[BuildResult]:
    """Build the base and the named recipes (all when ``names`` is empty)."""
    problem = engine.engine_problem()
    if problem:
        raise SetupError(problem)
    chosen = names or sorted(RECIPES)
    unknown = [n for n in chosen if n not in RECIPES and n != "base"]
    if unknown:
        raise SetupError(f"unknown image(s) {', '.join(unknown)} (known: base, {', '.join(sorted(RECIPES))})")
    results = [build_base(force=force, progress=progress)]
    results += [build_image(RECIPES[n], force=force, progress=progress) for n in chosen if n != "base"]
    return results


# -- listing and pruning -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    name: str  # recipe name, or "base"
    tag: str
    image_id: str
    size_mb: float
    created: str
    current: bool  # its tag is the one the current inputs give


def current_tags() -> dict[str, str]:
    """Recipe name -> the tag its inputs give now (recipes whose tools are missing are left out)."""
    tags = {"base": base_tag()}
    for name, recipe in RECIPES.items():
        with contextlib.suppress(SetupError):
            tags[name] = image_tag(recipe)
    return tags


def list_images() -> list[ImageInfo]:
    current = set(current_tags().values())
    client = engine.client()
    try:
        found = []
        for image in client.images.list(filters={"label": LABEL_IMAGE}):
            labels = image.labels or {}
            for tag in image.tags or ["<none>"]:
                found.append(
                    ImageInfo(
                        name=str(labels.get(LABEL_IMAGE, "?")),
                        tag=tag,
                        image_id=image.short_id.removeprefix("sha256:"),
                        size_mb=float(image.attrs.get("Size", 0)) / 1e6,
                        created=str(image.attrs.get("Created", ""))[:19],
                        current=tag in current,
                    )
                )
        return sorted(found, key=lambda i: (i.name, not i.current, i.tag))
    finally:
        client.close()


def prune_images(*, everything: bool = False) -> list[str]:
    """Remove atcheck's images whose tags are not current (all of them with ``everything``); return tags."""
    removed = []
    client = engine.client()
    try:
        errors = engine.docker_errors()
        for info in list_images():
            if info.current and not everything:
                continue
            target = info.image_id if info.tag == "<none>" else info.tag
            try:
                client.images.remove(target, noprune=False)
            except errors.APIError as exc:  # in use by a container of a live run
                removed.append(f"{target} (kept: {exc.explanation or exc})")
                continue
            removed.append(target)
        return removed
    finally:
        client.close()
