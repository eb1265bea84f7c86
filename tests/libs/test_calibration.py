"""Calibration's comparison and classification, on the fake harness and on in-process fake judges: agreement
gives no disagreement, a known class is classified with its sentence, and anything else is reported as
UNCLASSIFIED (never silently dropped); the Hypothesis draws are the same on every call."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from atcheck.libs import calibrate
from atcheck.libs.calibrate import Calibration, Probe
from atcheck.libs.harness import Harness
from atcheck.schema import identifiers

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_harness.py"

PROBES = [
    Probe("handle", "alice.test", "rule"),
    Probe("handle", "alice", "vector syntax/handle_syntax_invalid.txt:1", expected=False),
    Probe("nsid", "com.example", "rule"),
    Probe("tid", "3jzfcijpj2z2a", "rule"),
]


def _run(mode: str, probes: Sequence[Probe] = PROBES) -> Calibration:
    env = {**os.environ, "FAKE_HARNESS_MODE": mode}
    harness = Harness([sys.executable, str(FAKE)], name="fake", env=env, start_timeout_s=10)
    cal = Calibration()
    try:
        calibrate.compare(cal, calibrate.HarnessJudge("fake", harness), probes)
    finally:
        harness.close()
    return cal


def test_a_library_that_agrees_has_no_disagreement() -> None:
    cal = _run("oracle")
    assert cal.disagreements() == []
    assert cal.cells[("handle", "fake")].cases == 2


def test_an_unexplained_disagreement_is_reported_unclassified() -> None:
    cal = _run("wrong")  # accepts everything
    found = {d.probe.value: d for d in cal.disagreements()}
    assert set(found) == {"alice", "com.example"}
    # on a vector line, the vector decides (atcheck follows it): classified
    assert found["alice"].known is not None and found["alice"].known.right == "atcheck"
    # elsewhere, no class of the fake library matches: unclassified, and said so
    assert found["com.example"].known is None
    assert cal.unclassified() == [found["com.example"]]
    lines = calibrate.class_lines(cal)
    assert "UNCLASSIFIED: 1 disagreement(s)" in lines
    assert any("'com.example'" in line and "atcheck rejects, fake accepts" in line for line in lines)
    table = "\n".join(calibrate.table_lines(cal))
    assert "2/1/1" in table and "1/1/0" in table


def test_a_vector_atcheck_misses_is_never_classified() -> None:
    probe = Probe("handle", "alice.test", "vector (made up)", expected=False)
    cal = _run("oracle", [probe])
    calibrate.check_vectors(cal, [probe])
    assert cal.atcheck_vs_vectors == [probe]


class _Judge:
    """An in-process judge named like a real library, answering from a table."""

    def __init__(self, name: str, answers: dict[str, bool | None]) -> None:
        self.name = name
        self._answers = answers

    def judge(self, probes: Sequence[Probe]) -> list[bool | None]:
        return [self._answers[p.value] for p in probes]


def test_known_classes_carry_their_deciding_sentence() -> None:
    probes = [
        Probe("cid", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "edge case"),
        Probe("language", "x-private", "edge case"),
        Probe("language", "de-1901-1901", "edge case"),
        Probe("tid", "3jzfcijpj2z2a", "edge case"),
    ]
    answers: dict[str, bool | None] = {p.value: p.kind != "language" for p in probes}
    answers["3jzfcijpj2z2a"] = None  # unsupported: skipped, not counted
    cal = Calibration()
    calibrate.compare(cal, _Judge("lib-go", answers), probes)
    ids = sorted(d.known.id for d in cal.disagreements() if d.known)
    assert ids == ["cid-v0", "lang-privateuse-and-grandfathered", "lang-validity-not-wellformedness"]
    assert cal.cells[("tid", "lib-go")].unsupported == 1
    for d in cal.disagreements():
        assert d.known is not None
        assert "https://" in d.known.decided_by or "vector" in d.known.decided_by


def test_not_run_libraries_are_listed_with_the_reason() -> None:
    cal = Calibration()
    cal.not_run["lib-rust"] = "lib-rust (the rsky crates) is not installed"
    assert "not run: lib-rust: lib-rust (the rsky crates) is not installed" in calibrate.table_lines(cal)


def test_draws_are_derandomized() -> None:
    first = calibrate.draw(identifiers.valid("language"), 20)
    assert first == calibrate.draw(identifiers.valid("language"), 20)
    assert len(first) > 5


def test_format_lexicons_name_every_kind() -> None:
    ids = [doc["id"] for doc in calibrate.format_lexicons()]
    assert len(set(ids)) == len(calibrate.KIND_ORDER)
    assert "com.example.atcheck.calibrate.atUri" in ids
