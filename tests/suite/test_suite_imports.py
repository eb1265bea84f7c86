"""Suites import only the suite layer: the harness may change beneath them without touching them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SUITES = Path(__file__).resolve().parents[2] / "suites"
ALLOWED_ROOTS = {"pytest", "hypothesis", "atcheck.suite"}


def _atcheck_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n == "atcheck" or n.startswith("atcheck.")]


def _allowed(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in ALLOWED_ROOTS)


@pytest.mark.parametrize("path", sorted(SUITES.rglob("*.py")), ids=lambda p: str(p.relative_to(SUITES)))
def test_a_suite_module_imports_only_the_suite_package(path: Path) -> None:
    wrong = [m for m in _atcheck_imports(path) if not _allowed(m)]
    assert not wrong, f"{path.relative_to(SUITES)} imports {wrong}; import it from atcheck.suite instead"


def test_the_guard_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text("from atcheck.checks import expect\nfrom atcheck.suite import note\n", encoding="utf-8")
    assert [m for m in _atcheck_imports(module) if not _allowed(m)] == ["atcheck.checks"]
