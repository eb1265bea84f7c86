"""atcheck schema diff --git REF1 REF2 PATH: Lexicons at two commits; a CI step failing on a break."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from atcheck import cli

NOTE: dict[str, Any] = {
    "lexicon": 1,
    "id": "com.example.note",
    "defs": {
        "main": {
            "type": "record",
            "key": "tid",
            "record": {
                "type": "object",
                "required": ["text"],
                "properties": {"text": {"type": "string", "maxLength": 20}},
            },
        }
    },
}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def _commit(repo: Path, lexicon: dict[str, Any], message: str) -> str:
    folder = repo / "lexicons" / "com" / "example"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "note.json").write_text(json.dumps(lexicon, indent=1), encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("x", encoding="utf-8")
    return repo


def test_breaking_change_between_refs_exits_1(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _commit(repo, NOTE, "first")
    widened = json.loads(json.dumps(NOTE))
    widened["defs"]["main"]["record"]["properties"]["text"]["maxLength"] = 40  # not breaking for readers
    second = _commit(repo, widened, "widen")
    tightened = json.loads(json.dumps(NOTE))
    tightened["defs"]["main"]["record"]["properties"]["text"]["maxLength"] = 10
    _commit(repo, tightened, "tighten")
    base = ["schema", "diff", "--repo", str(repo), "--no-property-check", "--json", "--git"]
    assert cli.main([*base, first, first, "lexicons"]) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []
    assert cli.main([*base, second, "HEAD", "lexicons"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 1 and report["changes"][0]["kind"] == "constraint-changed"
    # A single file works too, and the working tree is never touched.
    assert cli.main([*base, "HEAD~2", "main", "lexicons/com/example/note.json"]) == 1
    capsys.readouterr()
    assert _git(repo, "status", "--porcelain") == ""


def test_bad_refs_and_paths_are_one_line(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _commit(repo, NOTE, "first")
    (tmp_path / "plain").mkdir()
    cases = [
        (["--repo", str(repo), "--git", "no-such-ref", first, "lexicons"], "is not a commit"),
        (["--repo", str(repo), "--git", first, first, "nowhere"], "nowhere does not exist at"),
        (["--repo", str(tmp_path / "plain"), "--git", "a", "b", "lexicons"], "not inside a git repository"),
        (["--repo", str(repo), "--git", "-", first, "lexicons"], "is not a ref"),
        (["old", "new", "--git", first, first, "lexicons"], "not both"),
        ([], "needs OLD and NEW"),
    ]
    for extra, message in cases:
        assert cli.main(["schema", "diff", "--no-property-check", *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
