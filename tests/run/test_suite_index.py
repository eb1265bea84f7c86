"""The static index of requirement markers agrees with what the tests declare."""

from __future__ import annotations

from pathlib import Path

from atcheck.suite_index import tests_by_requirement as index_suites


def test_markers_on_functions_classes_and_modules_are_found(tmp_path: Path) -> None:
    suites = tmp_path / "suites" / "repo"
    suites.mkdir(parents=True)
    (suites / "test_a.py").write_text(
        """
import pytest
from pytest import mark

pytestmark = [pytest.mark.requirement("MOD-01")]

@pytest.mark.requirement("A-01", "A-02")
def test_one(): ...

@mark.requirement("C-01")
class TestGroup:
    @pytest.mark.requirement("C-02")
    def test_two(self): ...

def helper(): ...
""",
        encoding="utf-8",
    )
    (suites / "test_broken.py").write_text("def (:\n", encoding="utf-8")
    found = index_suites(tmp_path / "suites", tmp_path)
    assert found["A-01"] == ["suites/repo/test_a.py::test_one"]
    assert found["MOD-01"] == [
        "suites/repo/test_a.py::test_one",
        "suites/repo/test_a.py::TestGroup::test_two",
    ]
    assert found["C-01"] == found["C-02"] == ["suites/repo/test_a.py::TestGroup::test_two"]
    assert "helper" not in str(found)


def test_marks_on_parametrized_cases_are_found(tmp_path: Path) -> None:
    """pytest gives a ``pytest.param(..., marks=...)`` case's marks to its item; the index counts them for
    the test, whether the cases are written inline or in a module-level list."""
    suites = tmp_path / "suites" / "plc"
    suites.mkdir(parents=True)
    (suites / "test_p.py").write_text(
        """
import pytest

CASES = [
    pytest.param("a", marks=pytest.mark.requirement("P-01")),
    pytest.param("b", marks=pytest.mark.requirement("P-02", "P-03")),
]

@pytest.mark.parametrize("name", CASES)
def test_listed(name): ...

@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.requirement("Q-01")), 2])
def test_inline(x): ...

def test_unmarked(): ...
""",
        encoding="utf-8",
    )
    found = index_suites(tmp_path / "suites", tmp_path)
    assert found["P-01"] == found["P-03"] == ["suites/plc/test_p.py::test_listed"]
    assert found["Q-01"] == ["suites/plc/test_p.py::test_inline"]
    assert "test_unmarked" not in str(found)
