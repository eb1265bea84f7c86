"""Baselines: known failures by (target, test) pattern; every mistake in the file is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck.baseline import load_baseline
from atcheck.errors import UsageError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "baseline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_entries_match_by_target_and_test_pattern(tmp_path: Path) -> None:
    baseline = load_baseline(
        _write(
            tmp_path,
            '[[expected]]\ntarget = "arroba"\ntest = "suites/repo/*::test_swap*"\nreason = "no swaps"\n',
        )
    )
    hit = baseline.expected("arroba", "suites/repo/test_records.py::test_swap_commit")
    assert hit is not None and hit.reason == "no swaps"
    assert baseline.expected("reference", "suites/repo/test_records.py::test_swap_commit") is None
    assert baseline.expected("arroba", "suites/repo/test_records.py::test_get") is None
    # The same implementation in a container has the same known failures.
    assert baseline.expected("arroba@container", "suites/repo/test_records.py::test_swap_commit") is not None
    assert baseline.expected("reference@container", "suites/repo/test_records.py::test_swap_commit") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expected = 3\n", "must be an array of tables"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\n", "'reason' must be a non-empty string"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\nwhy = 1\n", "unknown key(s) why"),
        ("[other]\n", "unknown key(s) other"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\nmatch = '('\n", "not a regular expression"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\nstrict = 'no'\n", "'strict' must be true"),
        ("[[expected]\n", "cannot read baseline"),
    ],
)
def test_malformed_baselines_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_baseline(_write(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value).strip()


def test_a_missing_baseline_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such baseline file"):
        load_baseline(tmp_path / "nope.toml")


def test_the_shipped_baseline_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    load_baseline(root / "suites" / "baseline.toml")


def test_a_baseline_written_from_a_report_expects_exactly_its_failures(tmp_path: Path) -> None:
    from atcheck.baseline import baseline_from_report

    report = {
        "run_id": "r1",
        "results": [
            {"target": "a", "test_id": "suites/x.py::test_ok", "outcome": "passed", "message": ""},
            {"target": "a", "test_id": "suites/x.py::test_bad[q\"uote]", "outcome": "failed",
             "message": "expected 400\ngot 200"},
            {"target": "b", "test_id": "suites/x.py::test_err", "outcome": "error", "message": "boom"},
        ],
    }  # fmt: skip
    baseline = load_baseline(_write(tmp_path, baseline_from_report(report)))
    assert [(e.target, e.test, e.reason) for e in baseline.entries] == [
        ("a", 'suites/x.py::test_bad[q"uote]', "expected 400"),
        ("b", "suites/x.py::test_err", "boom"),
    ]
    assert baseline.expected("a", 'suites/x.py::test_bad[q"uote]') is not None
    only_b = load_baseline(_write(tmp_path, baseline_from_report(report, {"b"})))
    assert [e.target for e in only_b.entries] == ["b"]


def test_a_match_pattern_limits_an_entry_to_known_kinds_of_failure(tmp_path: Path) -> None:
    baseline = load_baseline(
        _write(tmp_path, '[[expected]]\ntarget = "a"\ntest = "t"\nreason = "r"\nmatch = "Invalid uri"\n')
    )
    assert baseline.expected("a", "t", "got 400: Invalid uri (got a.:0)") is not None
    assert baseline.expected("a", "t", "got 500: Internal Server Error") is None
    assert baseline.expected("a", "t") is not None  # a pass: whether the entry is stale
