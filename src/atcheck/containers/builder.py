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
import fcntl
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
    BASE_PACKAGES,
    BASE_RECIPE_REVISION,
    BASE_REPOSITORY,
    BASE_SUITE,
    BASE_VARIANT,
    RECIPES,
    Recipe,
    TreeInput,
    VersionLabel,
)
from atcheck.errors import SetupError
from atcheck.paths import cache_root, project_root
from atcheck.tools import resolve_tool

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


def _fingerprint_dir(
    digest: Any, root: str, rel: str, exclude: tuple[str, ...], content: bool = True
) -> None:
    with os.scandir(root) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        name = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_symlink():
            digest.update(f"L|{name}|{os.readlink(entry.path)}\n".encode())
        elif entry.is_dir():
            if entry.name in exclude:
                continue
            lockfile = os.path.join(entry.path, ".package-lock.json")
            if entry.name == "node_modules" and os.path.isfile(lockfile):
                # npm rewrites this lockfile on every install: its content names every package and version,
                # its mtime marks a reinstall. Walking ~50,000 files instead would cost seconds per run.
                digest.update(f"N|{name}|{os.stat(lockfile).st_mtime_ns}|".encode())
                _hash_file(digest, Path(lockfile))
                continue
            digest.update(f"D|{name}\n".encode())
            _fingerprint_dir(digest, entry.path, name, exclude, content)
        else:
            stat = entry.stat(follow_symlinks=False)
            if content:
                digest.update(f"F|{name}|{stat.st_mode}|".encode())
                _hash_file(digest, Path(entry.path))
            else:
                digest.update(f"S|{name}|{stat.st_mode}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())


def tree_fingerprint(root: Path, exclude: tuple[str, ...] = (), *, content: bool = True) -> str:
    """A hash that changes when the tree's content changes.

    Files are hashed by content, except a big single file (the Node binary), known by size and mtime, and an
    installed ``node_modules``, known by the lockfile npm writes into it (see :func:`_fingerprint_dir`).
    ``content=False`` knows every file by size and mtime: for trees that installers write (a venv, a Python
    installation), where reading ~100 MB on every run would cost a second and a reinstall touches the mtimes.
    """
    digest = _digest()
    if root.is_file():
        stat = root.stat()
        digest.update(f"{root}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_mode}".encode())
        return str(digest.hexdigest())
    if not root.is_dir():
        raise SetupError(f"{root} is missing; cannot build an image from it")
    lockfile = root / ".package-lock.json"
    if root.name == "node_modules" and lockfile.is_file():  # a tree that *is* an install
        digest.update(f"N|{lockfile.stat().st_mtime_ns}|".encode())
        _hash_file(digest, lockfile)
    else:
        _fingerprint_dir(digest, str(root), "", exclude, content)
    return str(digest.hexdigest())


# -- the base image ------------------------------------------------------------------------------------------


def base_tag() -> str:
    folder = _folder_hash(project_root() / "containers" / "base")
    spec = f"{BASE_SUITE}|{BASE_VARIANT}|{BASE_RECIPE_REVISION}|{','.join(BASE_PACKAGES)}|{folder}"
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


def base_tarball(tag: str | None = None) -> Path:
    """The cached root filesystem of the base (made by debootstrap, kept for imports)."""
    return containers_cache() / f"rootfs-{(tag or base_tag()).split(':', 1)[1]}.tar"


def build_base(*, force: bool = False, progress: Progress = _quiet) -> BuildResult:
    """Make the base image: import the cached root filesystem, debootstrapping it first when missing."""
    tag = base_tag()
    started = time.monotonic()
    if not force and image_exists(tag):
        return BuildResult("base", tag, built=False, seconds=time.monotonic() - started)
    tarball = base_tarball(tag)
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
        include = [f"--include={','.join(BASE_PACKAGES)}"] if BASE_PACKAGES else []
        with log.open("wb") as out:
            try:
                done = subprocess.run(
                    [
                        "debootstrap",
                        f"--variant={BASE_VARIANT}",
                        *include,
                        BASE_SUITE,
                        str(rootfs),
                        debian_mirror(),
                    ],
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
    by_content: bool = True  # fingerprint files by content (checkout trees) or by size and mtime (installs)


def resolve_inputs(recipe: Recipe) -> list[ResolvedTree]:
    """The host paths of a recipe's inputs; SetupError (naming the setup script) when a tool is missing."""
    trees = []
    for item in recipe.inputs:
        trees.extend(_resolve(item))
    return _with_link_targets(trees)


def _inside(path: Path, trees: list[ResolvedTree]) -> bool:
    return any(path == tree.path or path.is_relative_to(tree.path) for tree in trees)


def _with_link_targets(trees: list[ResolvedTree]) -> list[ResolvedTree]:
    """Add the directories that top-level symlinks of a tree point to outside it.

    setup-node.sh's REFERENCE_DIR holds the start scripts and a ``node_modules`` symlink to the shared install
    next to it; the image needs both, at their paths, for the symlink to resolve inside the container.
    """
    found = list(trees)
    for tree in trees:
        if not tree.path.is_dir():
            continue
        for entry in sorted(tree.path.iterdir()):
            if entry.is_symlink() and entry.is_dir():
                target = entry.resolve()
                if not _inside(target, found):
                    found.append(ResolvedTree(target, ()))
    return found


def _tool_path(name: str) -> Path:
    """A tool's path made absolute but not resolved: commands use it as written, symlinks and all."""
    return Path(os.path.abspath(resolve_tool(name)))


def venv_home(python: Path) -> Path:
    """The Python installation a venv was made from: the parent of ``home`` in its pyvenv.cfg."""
    config = python.parent.parent / "pyvenv.cfg"
    try:
        lines = config.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise SetupError(f"{python} is not in a venv (no {config})") from None
    for line in lines:
        key, eq, value = line.partition("=")
        if eq and key.strip() == "home":
            return Path(value.strip()).parent
    raise SetupError(f"{config} has no 'home' line")


def _resolve(item: TreeInput) -> list[ResolvedTree]:
    if item.tool is not None:
        path = _tool_path(item.tool)
        if item.venv_base:
            return [ResolvedTree(venv_home(path), item.exclude, by_content=False)]
        for _ in range(item.up):
            path = path.parent
        return [ResolvedTree(path, item.exclude, by_content=item.up == 0)]
    assert item.checkout_path is not None
    path = (project_root() / item.checkout_path).resolve()
    if not path.exists():
        if item.optional:
            return []
        raise SetupError(f"{path} is missing from the checkout")
    return [ResolvedTree(path, item.exclude)]


def _version(version: VersionLabel) -> str:
    tool = _tool_path(version.tool)
    if version.package_json is not None:
        package = tool / version.package_json
        try:
            return str(json.loads(package.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError):
            raise SetupError(f"cannot read the version of {version.label} from {package}") from None
    venv = tool.parent.parent
    found = sorted(venv.glob(f"lib/python*/site-packages/{version.dist}-*.dist-info"))
    if not found:
        raise SetupError(f"{version.dist} is not installed in {venv}")
    return found[-1].name.removesuffix(".dist-info").split("-", 1)[1]


def recipe_versions(recipe: Recipe) -> str:
    """``pds-0.5.35-plc-0.0.1``: the pinned versions the image holds, for its tag."""
    return "-".join(f"{v.label}-{_version(v)}" for v in recipe.versions)


def image_tag(recipe: Recipe) -> str:
    """The tag the recipe's image has for the inputs installed now."""
    digest = _digest()
    digest.update(f"base={base_tag()}\n".encode())
    digest.update(f"folder={_folder_hash(recipe.folder)}\n".encode())
    for tree in resolve_inputs(recipe):
        found = tree_fingerprint(tree.path, tree.exclude, content=tree.by_content)
        digest.update(f"tree={tree.path}|{tree.exclude}|{found}\n".encode())
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
    """Build ``recipe``'s image unless its tag for the current inputs exists already.

    Two steps, because ``docker build`` is slow at what these images are mostly made of (~50,000 small files
    of node_modules: 5 minutes with the legacy builder, ~50 s with BuildKit, here): first the base's root
    filesystem plus the staged host trees are imported as one layer (a *payload* image, ~15 s), then the
    recipe's Dockerfile builds on that payload, adding only configuration.
    """
    started = time.monotonic()
    base = build_base(progress=progress)
    tag = image_tag(recipe)
    if not force and image_exists(tag):
        return BuildResult(recipe.name, tag, built=False, seconds=time.monotonic() - started)
    dockerfile = recipe.folder / "Dockerfile"
    if not dockerfile.is_file():
        raise SetupError(f"{dockerfile} is missing")
    tarball = base_tarball(base.tag)
    if not tarball.is_file():  # the base image came from elsewhere (an older cache): make the tarball again
        _debootstrap(tarball, progress)
    inputs_hash = tag.rsplit(":", 1)[1].rsplit("-", 1)[-1]  # a repository name may hold "-" too
    payload = f"{recipe.repository}-payload:{inputs_hash}"
    log_path = containers_cache() / "logs" / f"build-{recipe.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"stage-{recipe.name}-", dir=containers_cache()) as scratch:
        rootfs = Path(scratch) / "rootfs"
        progress(f"staging the inputs of {recipe.name} (hard links)")
        _stage(resolve_inputs(recipe), rootfs)
        for link, tool in recipe.links:
            where = rootfs / link.lstrip("/")
            where.parent.mkdir(parents=True, exist_ok=True)
            where.symlink_to(resolve_tool(tool))
        progress(f"importing the base and the inputs as {payload}")
        _import_payload(tarball, rootfs, payload)
    labels = {LABEL_IMAGE: recipe.name, LABEL_INPUTS: inputs_hash}
    try:
        progress(f"docker build {tag} (log {log_path})")
        _docker_build(recipe.folder, tag, {"PAYLOAD": payload}, labels, log_path)
    finally:
        _untag(payload)  # the final image keeps its layer; the payload tag would only clutter listings
    return BuildResult(recipe.name, tag, built=True, seconds=time.monotonic() - started)


def _tar_index(tarball: Path) -> tuple[int, set[str]]:
    """Where the base tarball's members end (before its end-of-archive blocks), and their paths."""
    names = set()
    with tarfile.open(tarball, "r:") as archive:
        for member in archive:
            names.add(os.path.normpath(member.name))
        return int(archive.offset), names


def _new_paths(rootfs: Path, existing: set[str]) -> list[str]:
    """The shallowest paths below ``rootfs`` that the base lacks: what to append without duplicating.

    docker import refuses a layer that names a path twice, and the staged trees' parents (``root``,
    ``usr/local/bin``) are in the base already.
    """
    found = []
    pending = [Path(".")]
    while pending:
        here = pending.pop()
        for entry in sorted((rootfs / here).iterdir()):
            rel = here / entry.name
            if os.path.normpath(rel) in existing and entry.is_dir() and not entry.is_symlink():
                pending.append(rel)
            elif os.path.normpath(rel) not in existing:
                found.append(str(rel))
    return sorted(found)


def _import_payload(tarball: Path, rootfs: Path, tag: str) -> None:
    """``docker import`` of the base tarball's members followed by the members of ``rootfs``: one layer."""
    end, existing = _tar_index(tarball)
    new_paths = _new_paths(rootfs, existing)
    importer = subprocess.Popen(
        ["docker", "-H", engine.docker_host(), "import", "-", tag],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert importer.stdin is not None and importer.stderr is not None
    try:
        with tarball.open("rb") as base:
            remaining = end
            while remaining > 0:
                chunk = base.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                importer.stdin.write(chunk)
                remaining -= len(chunk)
        importer.stdin.flush()
        # GNU tar is ~10x faster than Python's tarfile at ~50,000 files; it writes its own end blocks.
        packer = subprocess.run(
            ["tar", "-c", "-f", "-", "--numeric-owner", "-C", str(rootfs), "--", *new_paths],
            stdout=importer.stdin,
            stderr=subprocess.PIPE,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        importer.stdin.close()
        problem = importer.stderr.read().decode(errors="replace")
        code = importer.wait(timeout=BUILD_TIMEOUT_S)
    except BaseException:
        importer.kill()
        importer.wait()
        raise
    if packer.returncode != 0:
        raise SetupError(
            f"packing the image inputs failed: {_last_line(packer.stderr.decode(errors='replace'))}"
        )
    if code != 0:
        raise SetupError(f"docker import of {tag} failed: {_last_line(problem)}")


def _untag(tag: str) -> None:
    client = engine.client()
    try:
        with contextlib.suppress(Exception):
            client.images.remove(tag, noprune=True)
    finally:
        client.close()


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
                network_mode="none",  # everything is in the payload already; a build needs no network
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
    chosen = names or [n for n in sorted(RECIPES) if not _optional_and_missing(RECIPES[n])]
    unknown = [n for n in chosen if n not in RECIPES and n != "base"]
    if unknown:
        raise SetupError(f"unknown image(s) {', '.join(unknown)} (known: base, {', '.join(sorted(RECIPES))})")
    with build_lock(progress):
        results = [build_base(force=force, progress=progress)]
        results += [build_image(RECIPES[n], force=force, progress=progress) for n in chosen if n != "base"]
    return results


def _optional_and_missing(recipe: Recipe) -> bool:
    """An optional recipe whose host installs are missing: building every image leaves it out."""
    if not recipe.optional:
        return False
    try:
        resolve_inputs(recipe)
    except SetupError:
        return True
    return False


@contextlib.contextmanager
def build_lock(progress: Progress = _quiet) -> Iterator[None]:
    """One build at a time per machine: a second one waits, then finds the images built and skips them."""
    containers_cache().mkdir(parents=True, exist_ok=True)
    with (containers_cache() / "build.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another build is running; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def prune_cache(*, everything: bool = False) -> list[str]:
    """Remove cached base root filesystems other than the current one (all with ``everything``), and the
    staging dirs of killed builds."""
    keep = base_tarball().name
    removed = []
    # Staging dirs of builds that were killed (a finished build removes its own). Hard links: cheap to drop.
    with build_lock():
        for stale in sorted(containers_cache().glob("stage-*")):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(str(stale))
    for tarball in sorted(containers_cache().glob("rootfs-*.tar")):
        if everything or tarball.name != keep:
            tarball.unlink(missing_ok=True)
            tarball.with_suffix(".debootstrap.log").unlink(missing_ok=True)
            removed.append(str(tarball))
    return removed
