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


def test_computed_marks_are_read_from_the_imported_module(tmp_path: Path) -> None:
    """``requirement(*case.ids)`` over a list of cases is not literal: the module is imported and the marks
    pytest would give each case are read from the function; literal marks beside them still count."""
    suites = tmp_path / "suites" / "relay"
    suites.mkdir(parents=True)
    (suites / "test_c.py").write_text(
        """
import pytest

class Case:
    def __init__(self, name, ids):
        self.name, self.ids = name, ids

CASES = [Case("a", ("R-01",)), Case("b", ("R-02", "R-03"))]
METHOD_ID = "M-01"

@pytest.mark.requirement("R-00")
@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.name, marks=pytest.mark.requirement(*c.ids)) for c in CASES]
)
def test_cases(case): ...

class TestGroup:
    @pytest.mark.requirement(METHOD_ID)
    def test_method(self): ...
""",
        encoding="utf-8",
    )
    (suites / "test_fails_to_import.py").write_text(
        "import no_such_module_atcheck\nimport pytest\n\n"
        "@pytest.mark.requirement(*('X-01',))\ndef test_x(): ...\n",
        encoding="utf-8",
    )
    found = index_suites(tmp_path / "suites", tmp_path)
    where = "suites/relay/test_c.py::test_cases"
    assert found["R-00"] == found["R-01"] == found["R-02"] == found["R-03"] == [where]
    assert found["M-01"] == ["suites/relay/test_c.py::TestGroup::test_method"]
    assert "X-01" not in found
