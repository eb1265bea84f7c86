"""atcheck cache: keyed installs this checkout names are kept; the others are listed stale and pruned."""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck import cache, tools
from atcheck.errors import SetupError
from atcheck.schema import oracles


@pytest.fixture
def fake_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    layout = {
        "node/current/node22/bin/node": "n",
        "node/current/scripts-new/start-pds.mjs": "s",
        "node/current/scripts-old/start-pds.mjs": "s",
        "node/old/node22/bin/node": "n" * 1000,
        "arroba/current/bin/python": "p",
        "lexicon-node/current/validator.mjs": "v",
        "lexicon-node/old/validator.mjs": "v",
    }
    for rel, text in layout.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setenv("ATCHECK_CACHE", str(root))
    paths = {
        "node22": root / "node/current/node22/bin/node",
        "reference_dir": root / "node/current/scripts-new",
        "arroba_python": root / "arroba/current/bin/python",
    }

    def resolve(name: str) -> str:
        if name not in paths:
            raise SetupError(f"{name} is not installed")
        return str(paths[name])

    monkeypatch.setattr(tools, "resolve_tool", resolve)
    monkeypatch.setattr(oracles, "node_validator_dir", lambda: root / "lexicon-node" / "current")
    return root


def test_entries_say_what_this_checkout_uses(fake_cache: Path) -> None:
    state = {e.path.relative_to(fake_cache).as_posix(): e.in_use for e in cache.entries()}
    assert state == {
        "node/current": True,
        "node/current/scripts-new": True,
        "node/current/scripts-old": False,
        "node/old": False,
        "arroba/current": True,
        "lexicon-node/current": True,
        "lexicon-node/old": False,
    }


def test_prune_removes_only_the_stale(fake_cache: Path) -> None:
    would = cache.prune(dry_run=True)
    assert {e.path.name for e in would} == {"scripts-old", "old"}
    assert (fake_cache / "node" / "old").exists()
    removed = cache.prune()
    assert sorted(e.path.relative_to(fake_cache).as_posix() for e in removed) == [
        "lexicon-node/old",
        "node/current/scripts-old",
        "node/old",
    ]
    assert not (fake_cache / "node" / "old").exists()
    assert (fake_cache / "node" / "current" / "scripts-new").exists()
    assert (fake_cache / "arroba" / "current").exists()
