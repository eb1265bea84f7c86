"""Every line of the official syntax vectors, read in place: valid lines pass, invalid and parse-invalid fail.

Blank lines and ``#`` comments are skipped; every other line, leading and trailing whitespace included, is a
case. Each line is one test whose id names the file, the line number and (a prefix of) the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck.paths import vectors_dir
from atcheck.syntax import CHECKS, KINDS, VECTOR_LINES_OVERRULED, SyntaxViolation, check_language_validity

# interop-vector file stem -> our lexicon format name
_STEMS = {
    "atidentifier": "at-identifier",
    "aturi": "at-uri",
    "cid": "cid",
    "datetime": "datetime",
    "did": "did",
    "handle": "handle",
    "language": "language",
    "nsid": "nsid",
    "recordkey": "record-key",
    "tid": "tid",
    "uri": "uri",
}


def _cases() -> list[object]:
    cases: list[object] = []
    for path in sorted((vectors_dir() / "syntax").glob("*.txt")):
        stem, _, verdict = path.stem.partition("_")
        expect_valid = verdict == "syntax_valid"
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.split("\n"), start=1):
            expect_valid = verdict == "syntax_valid"
            if not line.strip() or line.startswith("#"):
                continue
            # language_parse_invalid.txt: well-formed (the format accepts it), but not valid
            validity = stem == "language" and verdict == "parse_invalid"
            kind = "language-validity" if validity else _STEMS[stem]
            if (kind, line) in VECTOR_LINES_OVERRULED:
                expect_valid = not expect_valid  # the spec decides against this line (see syntax.py)
            shown = line if len(line) <= 40 else f"{line[:37]}...({len(line)})"
            cases.append(pytest.param(kind, line, expect_valid, id=f"{path.name}:{number}:{shown!r}"))
    return cases


CASES = _cases()


def test_every_vector_file_is_mapped() -> None:
    stems = {Path(p).stem.partition("_")[0] for p in (vectors_dir() / "syntax").glob("*.txt")}
    assert stems == set(_STEMS)
    assert len(CASES) > 500


@pytest.mark.parametrize(("kind", "value", "expect_valid"), CASES)
def test_vector(kind: str, value: str, expect_valid: bool) -> None:
    if kind == "language-validity":
        # language_parse_invalid.txt: "well-formed BCP 47 syntax, but not 'valid' per RFC 5646 §2.2.9"
        assert KINDS["language"](value)
        with pytest.raises(SyntaxViolation, match="repeated"):
            check_language_validity(value)
        return
    assert KINDS[kind](value) is expect_valid
    if expect_valid:
        CHECKS[kind](value)
    else:
        with pytest.raises(SyntaxViolation) as info:
            CHECKS[kind](value)
        assert info.value.reason
