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


def test_entries_match_by_exact_target_and_test(tmp_path: Path) -> None:
    baseline = load_baseline(
        _write(
            tmp_path,
            '[[expected]]\ntarget = "arroba"\ntest = "suites/repo/t.py::test_swap[a]"\nreason = "no swaps"\n',
        )
    )
    hit = baseline.expected("arroba", "suites/repo/t.py::test_swap[a]")
    assert hit is not None and hit.reason == "no swaps"
    assert baseline.expected("reference", "suites/repo/t.py::test_swap[a]") is None
    assert baseline.expected("arroba", "suites/repo/t.py::test_swap[b]") is None  # another case: new
    assert baseline.expected("arroba", "suites/repo/t.py::test_swap") is None
    # The same implementation in a container has the same known failures.
    swap = "suites/repo/t.py::test_swap[a]"
    assert baseline.expected("arroba@container", swap, implementation="arroba") is not None
    assert baseline.expected("reference@container", swap, implementation="reference") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expected = 3\n", "must be an array of tables"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\n", "'reason' must be a non-empty string"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\nwhy = 1\n", "unknown key(s) why"),
        ("[other]\n", "unknown key(s) other"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\nmatch = 'x'\n", "'match' (a regex"),
        ("[[expected]]\ntarget = 'a'\ntest = 't*'\nreason = 'r'\n", "is a pattern; name exact test IDs"),
        ("[[expected]]\ntarget = 'a'\ntest = 's.py::t?'\nreason = 'r'\n", "is a pattern"),
        ("[[expected]]\ntarget = 'a*'\ntest = 't'\nreason = 'r'\n", "is a pattern"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\nstrict = false\n", "must name the failures"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\ncases = ['x]']\n", "is not a case key"),
        ("[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\ncases = ['x', 'x']\n", "lists a case twice"),
        ("[[expected]]\ntarget = 'a'\ntest = []\nreason = 'r'\n", "'test' must be a test ID"),
        (
            "[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\n"
            "[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r2'\ncases = ['k']\n",
            "two entries excuse the same failures",
        ),
        (
            "[[expected]]\ntarget = 'a'\ntest = 't'\nreason = 'r'\ncases = ['k', 'j']\n"
            "[[expected]]\ntarget = 'a'\ntest = ['u', 't']\nreason = 'r2'\ncases = ['k']\n",
            "two entries excuse the same failures",
        ),
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


def test_cases_excuse_exactly_the_failures_they_name(tmp_path: Path) -> None:
    """Planted faults: the same leniency answered with a 500, another class, and no case key at all."""
    from atcheck.baseline import case_tag

    baseline = load_baseline(
        _write(
            tmp_path,
            '[[expected]]\ntarget = "a"\ntest = ["t[x]", "t[y]"]\nreason = "r"\nstrict = false\n'
            'cases = ["ts-datetime-no-timezone -> HTTP 200"]\n',
        )
    )
    known = f"expected a 400; got HTTP 200 {case_tag('ts-datetime-no-timezone -> HTTP 200')}"
    assert baseline.expected("a", "t[x]", known) is not None
    assert baseline.expected("a", "t[y]", known) is not None
    for new in (
        f"expected a 400; got HTTP 500 {case_tag('ts-datetime-no-timezone -> HTTP 500')}",
        f"expected a 400; got HTTP 200 {case_tag('ts-uri-length -> HTTP 200')}",
        "expected a 400; got HTTP 200 (the datetime has no timezone)",
    ):
        assert baseline.expected("a", "t[x]", new) is None, new
        assert baseline.refusal("a", "t[x]", new) is not None
    assert baseline.expected("a", "t[x]") is not None  # a pass: whether the entry is stale
    assert baseline.refusal("a", "t[z]", known) is None  # no entry for that test: nothing to explain


def test_an_entry_naming_no_cases_does_not_excuse_a_family(tmp_path: Path) -> None:
    """An entry for a single deviation cannot silently excuse a property test's drawn failures."""
    from atcheck.baseline import case_tag

    baseline = load_baseline(_write(tmp_path, '[[expected]]\ntarget = "a"\ntest = "t"\nreason = "r"\n'))
    assert baseline.expected("a", "t", "expected 400; got HTTP 500") is not None
    drawn = f"expected 400; got HTTP 200 {case_tag('lexrpc-cid-v0 -> HTTP 200')}"
    assert baseline.expected("a", "t", drawn) is None
    refusal = baseline.refusal("a", "t", drawn)
    assert refusal is not None and "names no cases" in refusal and "lexrpc-cid-v0" in refusal


def test_a_message_naming_two_cases_has_none() -> None:
    from atcheck.baseline import case_of, case_tag

    assert case_of(f"x {case_tag('a')} y {case_tag('a')}") == "a"
    assert case_of(f"x {case_tag('a')} y {case_tag('b')}") is None
    assert case_of("no tag") is None
    with pytest.raises(ValueError):
        case_tag("bad]key")


def test_a_generated_baseline_names_the_cases_it_saw(tmp_path: Path) -> None:
    from atcheck.baseline import baseline_from_report, case_tag

    report = {
        "results": [
            {"target": "a", "test_id": "t[x]", "outcome": "failed", "message": f"m {case_tag('k1')}"},
            {"target": "a", "test_id": "t[x]", "outcome": "failed", "message": f"m {case_tag('k2')}"},
        ]
    }
    baseline = load_baseline(_write(tmp_path, baseline_from_report(report)))
    assert [(e.test, e.cases, e.strict) for e in baseline.entries] == [("t[x]", ("k1", "k2"), True)]


def test_every_shipped_entry_has_a_verdict() -> None:
    """suites/VERDICTS.md judges every known failure: each baselined test appears under its target."""
    root = Path(__file__).resolve().parents[2]
    baseline = load_baseline(root / "suites" / "baseline.toml")
    text = (root / "suites" / "VERDICTS.md").read_text(encoding="utf-8")
    sections = {"reference": text.split("## arroba")[0], "arroba": text.split("## arroba")[1]}
    missing = [
        f"{e.target}: {e.test}"
        for e in baseline.entries
        if e.target in sections and e.test.split("::")[-1].split("[")[0] not in sections[e.target]
    ]
    assert not missing, "baseline entries without a verdict in suites/VERDICTS.md: " + "; ".join(missing)
