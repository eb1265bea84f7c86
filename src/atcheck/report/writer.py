"""Write every report file of a run, redacted, atomically, and point ``reports/latest`` at them.

The order matters: the model is redacted once, *before* rendering (so no writer can forget, and truncation or
escaping cannot hide a secret from the scrubber), then each rendered file is scrubbed again as text, then
written to a temporary name and renamed, so a reader (a CI upload step, a browser on ``reports/latest``) never
sees a half-written file. The ``latest`` link is replaced by renaming a new symlink over it, never by deleting
it first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from atcheck.errors import SetupError
from atcheck.report.badges import render_badges
from atcheck.report.html import render_html
from atcheck.report.json_writer import render_json
from atcheck.report.junit import render_junit
from atcheck.report.markdown import render_markdown
from atcheck.report.model import RunReport, requirement_matrix
from atcheck.report.redact import Redactor

#: Secrets shorter than this are scrubbed from the model only, not from the rendered text.
NET_MIN_SECRET = 8

#: Directory of the per-target SVG badges inside the run's report directory.
BADGES_DIR = "badges"

#: Report kind -> file name inside the run's report directory.
FILE_NAMES = {
    "json": "report.json",
    "html": "report.html",
    "markdown": "summary.md",
    "junit": "junit.xml",
}


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` through a temporary file in the same directory and a rename.

    Characters UTF-8 cannot carry (lone surrogates from bytes decoded with ``surrogateescape``) are written
    as ``\\udcNN`` escapes rather than failing the whole report.
    """
    data = text.encode("utf-8", errors="backslashreplace")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def point_link(link: Path, target_dir: Path) -> None:
    """Make ``link`` a symlink to ``target_dir`` (a relative one), replacing any old link atomically."""
    link = link.absolute()
    if link.exists() and not link.is_symlink():
        raise SetupError(f"cannot point {link} at the new report: it exists and is not a symlink")
    link.parent.mkdir(parents=True, exist_ok=True)
    target = Path(os.path.relpath(target_dir.absolute(), link.parent))
    tmp = link.parent / f".{link.name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        tmp.symlink_to(target, target_is_directory=True)
        os.replace(tmp, link)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise SetupError(f"cannot point {link} at {target_dir}: {exc.strerror or exc}") from exc


def write_reports(
    report: RunReport,
    out_dir: Path,
    *,
    secrets: Iterable[str] = (),
    latest_link: Path | None = None,
) -> dict[str, Path]:
    """Write report.json, report.html, summary.md, junit.xml and badges/ into ``out_dir``.

    Returns the four report files by kind (the badges are beside them, one ``badges/<target>.svg`` each).

    ``secrets`` are exact values to scrub besides what the structural rules catch (see
    :mod:`atcheck.report.redact`). ``latest_link``, when given, is then pointed at ``out_dir``.
    """
    secrets = [s for s in secrets if s]
    redactor = Redactor(secrets)
    clean = redactor.report(report)
    # The net over rendered files leaves out very short secrets: replacing "ab" everywhere would break the
    # files' own syntax (JSON keys, HTML tags), and the model pass above has removed them already.
    net = Redactor(s for s in secrets if len(s) >= NET_MIN_SECRET)
    matrix = requirement_matrix(clean)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"cannot create the report directory {out_dir}: {exc.strerror or exc}") from exc
    # Rendered and written one at a time, report.json first: should a writer ever break on some input,
    # the files before it are already complete on disk.
    renderers: dict[str, Callable[[], str]] = {
        "json": lambda: render_json(clean, matrix=matrix),
        "junit": lambda: render_junit(clean),
        "markdown": lambda: render_markdown(clean, matrix=matrix),
        "html": lambda: render_html(clean, matrix=matrix),
    }
    written: dict[str, Path] = {}
    for kind, render in renderers.items():
        path = out_dir / FILE_NAMES[kind]
        try:
            write_atomically(path, net.net(render()))
        except OSError as exc:
            raise SetupError(f"cannot write {path}: {exc.strerror or exc}") from exc
        written[kind] = path
    badges_dir = out_dir / BADGES_DIR
    try:
        badges_dir.mkdir(exist_ok=True)
        for name, svg in render_badges(clean, matrix).items():
            write_atomically(badges_dir / name, net.net(svg))
    except OSError as exc:
        raise SetupError(f"cannot write the badges in {badges_dir}: {exc.strerror or exc}") from exc
    if latest_link is not None:
        point_link(latest_link, out_dir)
    return written
