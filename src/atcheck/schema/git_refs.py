"""A Lexicon folder as it was at a git ref, exported to a temporary folder for ``atcheck schema diff --git``.

Lexicon authors review a change as a pull request: the question is "does this branch break what main
published?". Checking out two worktrees in a CI step is clumsy, so the diff reads both versions straight
from git (``git archive REF -- PATH``), into temporary folders that are removed afterwards. Only git's own
client is run, in the repository the user names; every failure (not a repository, unknown ref, path absent
at the ref) is one line.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from atcheck.errors import UsageError

GIT_TIMEOUT_S = 60.0


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise UsageError("--git needs the git command, which is not installed")
    try:
        return subprocess.run(
            [git, "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {' '.join(args)} took over {GIT_TIMEOUT_S:.0f} s in {repo}") from None


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return text.splitlines()[0] if text else "(no message)"


def repo_relative(repo: Path, path: str) -> tuple[Path, str]:
    """The repository's top folder, and ``path`` relative to it (``path`` may be given from the cwd)."""
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"{repo} is not inside a git repository: {_first_line(top.stderr)}")
    root = Path(top.stdout.decode().strip())
    candidate = (Path.cwd() / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    try:
        relative = candidate.relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = Path(path).as_posix()  # already relative to the repository, as git shows paths
    return root, relative.strip("/") or "."


def export(root: Path, ref: str, path: str, dest: Path) -> Path:
    """Write ``path`` as it is at ``ref`` under ``dest``; return where it landed (``dest/path``)."""
    if ref.startswith("-"):
        raise UsageError(f"--git: {ref!r} is not a ref")
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise UsageError(f"--git: {ref!r} is not a commit in {root}")
    commit = resolved.stdout.decode().strip()
    if path != "." and _git(root, "cat-file", "-e", f"{commit}:{path}").returncode != 0:
        raise UsageError(f"--git: {path} does not exist at {ref}")
    archive = _git(root, "archive", "--format=tar", commit, "--", path)
    if archive.returncode != 0:
        raise UsageError(f"git archive {ref} -- {path}: {_first_line(archive.stderr)}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")  # no absolute paths, no links out of dest
    return dest / path


@contextlib.contextmanager
def exported_pair(repo: Path, old_ref: str, new_ref: str, path: str) -> Iterator[tuple[Path, Path]]:
    """``path`` at ``old_ref`` and at ``new_ref``, as two folders that exist for the ``with`` block only."""
    root, relative = repo_relative(repo, path)
    with tempfile.TemporaryDirectory(prefix="atcheck-lexicons-") as tmp:
        old = export(root, old_ref, relative, Path(tmp) / "old")
        new = export(root, new_ref, relative, Path(tmp) / "new")
        yield old, new
