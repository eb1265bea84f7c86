"""The reference validators against the official vectors and generated records: every disagreement documented.

atcheck itself must agree with every vector and with the generator's intent; the reference validators may
differ only in the ways atcheck.schema.disagreements records (with the spec sentence that decides each).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from atcheck.errors import SetupError
from atcheck.paths import vectors_dir
from atcheck.schema import differential
from atcheck.schema.disagreements import KNOWN, VECTOR_CASES
from atcheck.schema.oracles import LexrpcValidator, NodeLexiconValidator
from atcheck.schema.sources import LexiconSet, default_lexicons, directory_lexicons


def _node(docs: list[Any]) -> NodeLexiconValidator:
    try:
        return NodeLexiconValidator(docs)
    except SetupError as exc:
        pytest.skip(f"@atproto/lexicon unavailable: {exc}")


@pytest.fixture(scope="module", params=["@atproto/lexicon", "lexrpc"])
def vector_oracle(request: pytest.FixtureRequest) -> Iterator[Any]:
    docs = [
        d.raw
        for d in directory_lexicons(vectors_dir() / "lexicon" / "catalog" / "record.json").documents.values()
    ]
    if request.param == "lexrpc":
        pytest.importorskip("lexrpc")
        yield LexrpcValidator(docs)
        return
    node = _node(docs)
    yield node
    node.close()


def test_vector_disagreements_are_documented(vector_oracle: Any) -> None:
    seen = set()
    for name, expected in (("record-data-valid.json", True), ("record-data-invalid.json", False)):
        cases = json.loads((vectors_dir() / "lexicon" / name).read_text())
        verdicts = vector_oracle.validate([(c["data"]["$type"], "record", c["data"]) for c in cases])
        for case, (valid, error) in zip(cases, verdicts, strict=True):
            if valid != expected:
                key = (vector_oracle.name, case["name"])
                assert key in VECTOR_CASES, f"undocumented: {key} said {valid} ({error})"
                seen.add(key)
    assert seen == {k for k in VECTOR_CASES if k[0] == vector_oracle.name}, (
        "a documented disagreement went away"
    )


@pytest.fixture(scope="module")
def lexicons() -> LexiconSet:
    pytest.importorskip("lexrpc")
    return default_lexicons()


def test_generated_records_agree_or_are_documented(lexicons: LexiconSet) -> None:
    docs = [d.raw for d in lexicons.documents.values()]
    node = _node(docs)
    try:
        report = differential.run(
            lexicons,
            [node, LexrpcValidator(docs)],
            per_type=4,
            seed_value=3,
            nsids=[
                "app.bsky.feed.post",
                "app.bsky.actor.profile",
                "app.bsky.labeler.service",
                "app.bsky.feed.threadgate",
                "community.lexicon.calendar.rsvp",
            ],
        )
    finally:
        node.close()
    assert report.cases == 40
    assert [d for d in report.disagreements if d.validator == "atcheck"] == []
    assert [(d.validator, d.case.mutation, d.error) for d in report.unexplained()] == []


def test_every_known_class_names_its_deciding_sentence() -> None:
    for known in KNOWN.values():
        assert known.decided_by and known.validator in ("@atproto/lexicon", "lexrpc")


def test_lexicon_document_checks_agree_or_are_documented() -> None:
    from atcheck.schema.disagreements import LINT_CASES

    pytest.importorskip("lexrpc")
    vectors = vectors_dir() / "lexicon"
    docs = [
        (c["name"], c["lexicon"])
        for f in ("lexicon-valid.json", "lexicon-invalid.json")
        for c in json.loads((vectors / f).read_text())
    ]
    docs += [(d.nsid, d.raw) for d in default_lexicons().documents.values()]
    node = _node([])
    try:
        total, diffs = differential.lint_agreement(docs, node)
    finally:
        node.close()
    assert total == 586
    assert {d.name for d in diffs} == set(LINT_CASES)
