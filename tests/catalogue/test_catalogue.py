"""The shipped requirement catalogue loads and matches its draft; bad catalogues fail in one clear line."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atcheck.catalogue.loader import (
    AREAS,
    DEFAULT_PATH,
    ID_PATTERN,
    Catalogue,
    load_catalogue,
)
from atcheck.errors import CatalogueError
from atcheck.paths import shared_file
from atcheck.report.model import RequirementInfo

# The draft's "Counts per area" table: area -> (rows, MUST, SHOULD, MAY), mixed levels under the first.
DRAFT_COUNTS = {
    "syntax": (50, 37, 13, 0),
    "data-model": (25, 22, 3, 0),
    "lexicon": (47, 42, 5, 0),
    "crypto": (11, 8, 2, 1),
    "repo": (32, 27, 4, 1),
    "blob": (16, 8, 6, 2),
    "sync": (53, 35, 14, 4),
    "identity": (35, 26, 7, 2),
    "account": (17, 9, 7, 1),
    "migration": (14, 8, 5, 1),
    "xrpc": (30, 19, 11, 0),  # XRPC-HTTP-02 is SHOULD since the verdict audit (suites/VERDICTS.md)
    "label": (24, 8, 14, 2),
    "oauth": (40, 31, 8, 1),
}
DRAFT = shared_file("design/requirements-draft.md") or Path("shared/design/requirements-draft.md")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _draft_rows(catalogue: Catalogue) -> list[Any]:
    return [req for req in catalogue if req.origin == "draft"]


def test_shipped_catalogue_has_every_draft_row(catalogue: Catalogue) -> None:
    assert len(_draft_rows(catalogue)) == 394
    assert catalogue.areas == AREAS


def test_rows_atcheck_added_say_where_they_come_from(catalogue: Catalogue) -> None:
    added = [req for req in catalogue if req.origin == "atcheck"]
    assert added, "the catalogue has grown beyond the draft (e.g. XRPC-ERR-05)"
    for req in added:
        assert req.source_note, f"{req.id}: an added row must say in source_note why and from what"


@pytest.mark.parametrize("area", list(DRAFT_COUNTS))
def test_per_area_counts_match_the_draft(catalogue: Catalogue, area: str) -> None:
    draft = [req for req in catalogue.by_area(area) if req.origin == "draft"]
    levels = Counter(req.level for req in draft)
    rows = len(draft)
    assert (rows, levels["MUST"], levels["SHOULD"], levels["MAY"]) == DRAFT_COUNTS[area]


@pytest.mark.skipif(not DRAFT.is_file(), reason="the design draft is not beside this checkout")
def test_ids_are_the_drafts_verbatim(catalogue: Catalogue) -> None:
    draft_ids = re.findall(r"^\| ([A-Z]+(?:-[A-Z0-9]+)*-[0-9]{2,3}[a-z]?) \|", DRAFT.read_text(), re.M)
    assert len(draft_ids) == 394
    assert [req.id for req in _draft_rows(catalogue)] == draft_ids


def test_entries_are_well_formed(catalogue: Catalogue) -> None:
    for req in catalogue:
        assert ID_PATTERN.match(req.id)
        assert "\n" not in req.statement
        assert "*(" not in req.statement and "**" not in req.statement, f"{req.id}: draft markup left"
        assert req.applies_to and req.how


def test_recorded_deviations_are_where_the_draft_found_them(catalogue: Catalogue) -> None:
    with_deviation = {req.id for req in catalogue if req.deviations}
    # The draft's key findings: spec, vectors and reference disagree on these.
    for req_id in (
        "SYNC-ES-12",
        "SYNC-FH-03",
        "DM-BLOB-02",
        "REPO-MST-01",
        "ID-PLC-05",
        "ID-PLC-06",
        "LEX-VAL-13",
        "SYNC-HTTP-04",
        "XRPC-HTTP-02",
        "ACCT-07",
    ):
        assert req_id in with_deviation
    assert catalogue.get("SYNC-HTTP-02").source_note  # a (lex)-derived row
    assert catalogue.get("ACCT-13").source_note  # a (ref)-derived row


def test_lookup_and_levels(catalogue: Catalogue) -> None:
    assert "XRPC-HTTP-02" in catalogue
    assert "XRPC-HTTP-99" not in catalogue
    assert catalogue.get("SYN-CID-01").area == "syntax"
    assert catalogue.unknown(["SYN-CID-01", "NOPE-01", "NOPE-01", "ALSO-02"]) == ["NOPE-01", "ALSO-02"]
    # SYN-DID-06 is SHOULD, SYN-DID-01 MUST, BLOB-16 MAY
    assert catalogue.strongest_level(["BLOB-16", "SYN-DID-06"]) == "SHOULD"
    assert catalogue.strongest_level(["BLOB-16", "SYN-DID-01", "SYN-DID-06"]) == "MUST"
    assert catalogue.strongest_level([]) is None


def test_unknown_id_error_suggests_a_close_one(catalogue: Catalogue) -> None:
    with pytest.raises(CatalogueError, match=r"unknown requirement ID 'SYN-DID-99' \(did you mean SYN-DID-"):
        catalogue.get("SYN-DID-99")
    with pytest.raises(CatalogueError, match="unknown requirement ID"):
        catalogue.strongest_level(["SYN-DID-01", "NOPE-01"])


def test_unknown_area_is_a_clear_error(catalogue: Catalogue) -> None:
    with pytest.raises(CatalogueError, match=r"unknown area 'firehose' \(known: syntax, "):
        catalogue.by_area("firehose")


def test_to_requirement_info(catalogue: Catalogue) -> None:
    info = catalogue.to_requirement_info(catalogue.get("SYNC-ES-12"), ["suites/sync/test_x.py::test_cursor"])
    assert isinstance(info, RequirementInfo)
    assert info.id == "SYNC-ES-12" and info.level == "MUST" and info.area == "sync"
    assert info.spec_ref.startswith("event-stream")
    assert info.deviations and "seq > cursor" in info.deviations[0]
    assert info.tests == ["suites/sync/test_x.py::test_cursor"]


@pytest.mark.parametrize(
    ("req_id", "url"),
    [
        ("SYN-URI-01", "https://atproto.com/specs/at-uri-scheme"),
        ("SYN-DID-01", "https://atproto.com/specs/did"),
        ("ACCT-07", "https://atproto.com/specs/account"),
        ("ID-PLC-06", "https://web.plc.directory/spec/v0.1/did-plc"),
        (
            "SYNC-HTTP-02",
            "https://github.com/bluesky-social/atproto/blob/main/lexicons/com/atproto/sync/getRepo.json",
        ),
        (
            "LBL-DID-02",
            "https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/labeler/service.json",
        ),
        ("SYNC-HTTP-11", None),  # several Lexicons: no single page
        ("DM-CBOR-02", None),  # DRISL: outside atproto.com
    ],
)
def test_spec_url(catalogue: Catalogue, req_id: str, url: str | None) -> None:
    assert catalogue.get(req_id).spec_url == url


def test_most_entries_link_to_their_spec_page(catalogue: Catalogue) -> None:
    assert sum(1 for req in catalogue if req.spec_url) >= 370


def test_load_is_cached() -> None:
    assert load_catalogue() is load_catalogue(DEFAULT_PATH)


# ---- malformed catalogues -----------------------------------------------------------------------------

GOOD = """
[[requirement]]
id = "SYN-DID-01"
level = "MUST"
area = "syntax"
statement = "A DID is ASCII."
spec = "did §Syntax"
applies_to = ["lib"]
how = ["VEC"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_minimal_catalogue_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, GOOD))
    assert catalogue.ids == ("SYN-DID-01",)
    assert catalogue.get("SYN-DID-01").deviations == ()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: s.replace('level = "MUST"', 'level = "MUSTN\'T"'),
            "requirements.toml: SYN-DID-01: key 'level': unknown level \"MUSTN'T\" "
            "(known: MUST, SHOULD, MAY)",
        ),
        (
            lambda s: s.replace('area = "syntax"', 'area = "firehose"'),
            "requirements.toml: SYN-DID-01: key 'area': unknown area 'firehose'",
        ),
        (
            lambda s: s.replace('area = "syntax"', 'area = "repo"'),
            "requirements.toml: SYN-DID-01: key 'area': 'repo' does not match the ID prefix",
        ),
        (
            lambda s: s.replace('["lib"]', '["lib", "browser"]'),
            "requirements.toml: SYN-DID-01: key 'applies_to': unknown value 'browser'",
        ),
        (
            lambda s: s.replace('["lib"]', '["lib", "lib"]'),
            "requirements.toml: SYN-DID-01: key 'applies_to': lists a value twice",
        ),
        (
            lambda s: s.replace('["VEC"]', '["VIBES"]'),
            "requirements.toml: SYN-DID-01: key 'how': unknown value 'VIBES'",
        ),
        (lambda s: s.replace('["VEC"]', "[]"), "requirements.toml: SYN-DID-01: key 'how': must not be empty"),
        (
            lambda s: s.replace('statement = "A DID is ASCII."', 'statement = "  "'),
            "requirements.toml: SYN-DID-01: key 'statement': must be a non-empty string",
        ),
        (
            lambda s: s.replace('statement = "A DID is ASCII."', 'statement = "two\\nlines"'),
            "requirements.toml: SYN-DID-01: key 'statement': must be one line",
        ),
        (
            lambda s: s.replace('spec = "did §Syntax"\n', ""),
            "requirements.toml: SYN-DID-01: key 'spec': missing",
        ),
        (
            lambda s: s.replace('spec = "did §Syntax"', 'spec = ""'),
            "requirements.toml: SYN-DID-01: key 'spec': must be a non-empty string",
        ),
        (lambda s: s + 'colour = "blue"\n', "requirements.toml: SYN-DID-01: key 'colour': unknown key"),
        (
            lambda s: s + 'deviations = "spec says so"\n',
            "requirements.toml: SYN-DID-01: key 'deviations': must be a list of non-empty strings",
        ),
        (
            lambda s: s.replace('"SYN-DID-01"', '"SYN-DID-1"'),
            "requirements.toml: SYN-DID-1: key 'id': 'SYN-DID-1' does not match",
        ),
        (
            lambda s: s.replace('"SYN-DID-01"', '"syn-did-01"'),
            "requirements.toml: syn-did-01: key 'id': 'syn-did-01' does not match",
        ),
        (
            lambda s: s.replace('"SYN-DID-01"', '"FOO-01"'),
            "requirements.toml: FOO-01: key 'id': unknown prefix 'FOO'",
        ),
        (
            lambda s: s.replace('id = "SYN-DID-01"\n', ""),
            "requirements.toml: requirement #1: key 'id': missing or not a non-empty string",
        ),
        (lambda s: s + GOOD, "requirements.toml: SYN-DID-01: key 'id': duplicate (entries #1 and #2)"),
        (lambda s: "version = 1\n" + s, "requirements.toml: unknown top-level key 'version'"),
        (
            lambda s: s.replace("[[requirement]]", "[[requirements]]"),
            "requirements.toml: unknown top-level key 'requirements'",
        ),
        (lambda s: "", "requirements.toml: no [[requirement]] entries"),
        (lambda s: s.replace('level = "MUST"', "level = MUST"), "requirements.toml: invalid TOML: "),
    ],
)
def test_malformed_catalogue_gives_one_line_error(
    tmp_path: Path, edit: Callable[[str], str], expected: str
) -> None:
    assert load_error(tmp_path, edit(GOOD)).startswith(expected)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="requirement catalogue not found: "):
        load_catalogue(tmp_path / "nope.toml")


def test_an_untested_row_says_why(catalogue: Catalogue) -> None:
    """``untested`` holds the reason no test checks a row; rows with tests leave it out."""
    assert "1 hour" in (catalogue.get("BLOB-11").untestable or "")
    assert catalogue.get("LBL-OBJ-01").untestable is None
