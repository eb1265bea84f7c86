"""Which suite test checks which requirement, read from the source without running anything.

``atcheck requirements`` must answer "which tests check REPO-MST-01?" instantly and without starting servers,
so this reads the ``@pytest.mark.requirement(...)`` decorators (and module-level ``pytestmark``) with
:mod:`ast`. A test whose marks are computed (``requirement(*case.requirements)`` over a list of cases) cannot
be read that way: its module alone is imported, which runs no test and starts nothing, and the marks pytest
would give its cases are read from the function.
The pytest plugin computes the same mapping at collection time; a self-test keeps the two in agreement.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def _requirement_ids(node: ast.expr) -> list[str]:
    """IDs from ``pytest.mark.requirement("A", "B")`` (or a list of such marks)."""
    if isinstance(node, ast.List | ast.Tuple):
        return [i for elt in node.elts for i in _requirement_ids(elt)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "requirement"
    ):
        return [i for a in node.args for i in _constant_ids(a)]
    return []


def _constant_ids(node: ast.expr) -> list[str]:
    """A string constant, or both branches of ``"A" if case else "B"`` (the cases between them check both)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constant_ids(node.body) + _constant_ids(node.orelse)
    return []


def _is_computed(decorators: list[ast.expr]) -> bool:
    """Whether a requirement mark in these decorators has an argument that is not a string literal."""
    for decorator in decorators:
        for node in ast.walk(decorator):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "requirement"
                and len(_requirement_ids(node)) < len(node.args)
            ):
                return True
    return False


def _decorator_ids(decorators: list[ast.expr], cases: dict[str, list[str]]) -> list[str]:
    """IDs a test's decorators name, including marks on parametrized cases
    (``pytest.param(..., marks=pytest.mark.requirement("X"))``, written inline or in a module-level list
    named in ``cases``), which pytest gives each case's item."""
    ids: list[str] = []
    for decorator in decorators:
        for node in ast.walk(decorator):
            if isinstance(node, ast.Call):
                ids.extend(_requirement_ids(node))
            elif isinstance(node, ast.Name):
                ids.extend(cases.get(node.id, []))
    return ids


def _module_cases(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = [pytest.param(..., marks=...requirement(...)), ...]`` lists, by name, so that
    ``@pytest.mark.parametrize("x", NAME)`` counts the marks of its cases."""
    found: dict[str, list[str]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(
            stmt.value, ast.List | ast.Tuple | ast.ListComp
        ):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            ids = [
                i
                for node in ast.walk(stmt.value)
                if isinstance(node, ast.Call)
                for i in _requirement_ids(node)
            ]
            for target in targets:
                if isinstance(target, ast.Name) and ids:
                    found[target.id] = ids
    return found


def _module_marks(tree: ast.Module) -> list[str]:
    ids: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            ids.extend(_requirement_ids(stmt.value))
    return ids


def _walk(
    body: list[ast.stmt],
    prefix: str,
    inherited: list[str],
    found: dict[str, list[str]],
    where: str,
    cases: dict[str, list[str]],
    computed: list[str],
) -> None:
    for stmt in body:
        if isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            marks = inherited + _decorator_ids(stmt.decorator_list, cases)
            _walk(stmt.body, f"{prefix}{stmt.name}::", marks, found, where, cases, computed)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
            ids = inherited + _decorator_ids(stmt.decorator_list, cases)
            test_id = f"{where}::{prefix}{stmt.name}"
            if _is_computed(stmt.decorator_list):
                computed.append(test_id)
            for req_id in dict.fromkeys(ids):
                found.setdefault(req_id, []).append(test_id)


def tests_by_requirement(suites: Path, root: Path | None = None) -> dict[str, list[str]]:
    """Requirement ID -> test IDs (``suites/repo/test_x.py::test_y``) under ``suites``."""
    base = root or suites.parent
    found: dict[str, list[str]] = {}
    for path in sorted(suites.rglob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue  # pytest reports it properly at collection
        where = path.relative_to(base).as_posix()
        computed: list[str] = []
        _walk(tree.body, "", _module_marks(tree), found, where, _module_cases(tree), computed)
        if computed:
            for req_id, test_id in _imported_marks(path, computed):
                tests = found.setdefault(req_id, [])
                if test_id not in tests:
                    tests.append(test_id)
    return found


def _imported_marks(path: Path, test_ids: list[str]) -> Iterable[tuple[str, str]]:
    """(requirement, test) pairs of the computed marks of ``test_ids``, read from the imported module.

    A module that fails to import yields nothing here: pytest reports the error at collection."""
    name = f"_atcheck_suite_index_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except Exception:  # any failure of a test module is pytest's to report at collection, not ours
        return
    finally:
        sys.modules.pop(name, None)
    for test_id in test_ids:
        obj: Any = module
        for part in test_id.split("::")[1:]:
            obj = getattr(obj, part, None)
        for req_id in dict.fromkeys(_marked_ids(getattr(obj, "pytestmark", []))):
            yield req_id, test_id


def _marked_ids(marks: Iterable[Any]) -> Iterable[str]:
    """Requirement IDs of pytest marks, including those of each ``pytest.param`` case of a parametrize."""
    for mark in marks:
        mark = getattr(mark, "mark", mark)
        if mark.name == "requirement":
            yield from (a for a in mark.args if isinstance(a, str))
        elif mark.name == "parametrize" and len(mark.args) > 1:
            for value in mark.args[1]:
                yield from _marked_ids(getattr(value, "marks", ()))
