"""The peers benchmark stays runnable: a tiny CAR verified by the oracle and by @atproto/repo, who agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from atcheck.errors import SetupError
from atcheck.tools import resolve_tool

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "peers_repo_verify.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peers_repo_verify", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_both_verifiers_agree_on_a_small_repo(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        resolve_tool("node22")
        resolve_tool("reference_dir")
    except SetupError as exc:
        pytest.skip(f"no reference install for @atproto/repo: {exc}")
    assert _module().main(["--records", "40", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "     40 records" in out and "@atproto/repo" in out and "ratio" in out
