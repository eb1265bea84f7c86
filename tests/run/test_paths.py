"""Where the official vectors are found: beside the checkout, or beside the checkout a clone came from.

Hermetic: the search never leaves the test's temp folder (``paths.search_ceiling``), so a ``shared/`` folder
in an ancestor of it (the system temp folder, say) cannot make a test find vectors it did not lay out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atcheck import paths
from atcheck.errors import SetupError


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ATCHECK_VECTORS", raising=False)
    monkeypatch.setattr(paths, "search_ceiling", tmp_path)
    paths.vectors_dir.cache_clear()
    yield
    paths.vectors_dir.cache_clear()


def _checkout(at: Path, origin: Path | None = None) -> Path:
    (at / ".git").mkdir(parents=True)
    config = "[core]\n\tbare = false\n"
    if origin is not None:
        config += f'[remote "origin"]\n\turl = {origin}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
    (at / ".git" / "config").write_text(config, encoding="utf-8")
    return at


def test_vectors_beside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None) -> None:
    vectors = tmp_path / "shared" / "vectors" / "atproto-interop-tests"
    vectors.mkdir(parents=True)
    main = _checkout(tmp_path / "main")
    monkeypatch.setattr(paths, "project_root", lambda: main)
    assert paths.vectors_dir() == vectors


def test_a_clone_elsewhere_finds_them_beside_its_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    vectors = tmp_path / "work" / "shared" / "vectors" / "atproto-interop-tests"
    vectors.mkdir(parents=True)
    origin = _checkout(tmp_path / "work" / "main")
    clone = _checkout(tmp_path / "elsewhere" / "clone", origin=origin)
    monkeypatch.setattr(paths, "project_root", lambda: clone)
    assert paths.vectors_dir() == vectors


def test_missing_vectors_are_a_setup_error_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    lonely = _checkout(tmp_path / "lonely" / "main")
    monkeypatch.setattr(paths, "project_root", lambda: lonely)
    with pytest.raises(SetupError, match="set ATCHECK_VECTORS"):
        paths.vectors_dir()


def test_a_shared_folder_above_the_ceiling_is_not_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    """What makes the tests above hermetic: a ``shared/`` beside the temp folder is outside the search."""
    (tmp_path / "shared" / "vectors" / "atproto-interop-tests").mkdir(parents=True)
    inner = tmp_path / "inner"
    main = _checkout(inner / "deep" / "main")
    monkeypatch.setattr(paths, "search_ceiling", inner)
    monkeypatch.setattr(paths, "project_root", lambda: main)
    with pytest.raises(SetupError, match="set ATCHECK_VECTORS"):
        paths.vectors_dir()
