"""from_lexicon / invalid_from_lexicon agree with the validator: valid records pass, each mutation is caught.

A sample of record types here (every one of the default set is covered by benchmarks/schema_differential.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings

from atcheck.paths import vectors_dir
from atcheck.schema.generate import Mutation, from_lexicon, invalid_from_lexicon
from atcheck.schema.registry import SchemaRegistry
from atcheck.schema.sources import LexiconSet, default_lexicons, directory_lexicons

SAMPLE = [
    "app.bsky.feed.post",
    "app.bsky.feed.like",
    "app.bsky.actor.profile",
    "app.bsky.graph.follow",
    "app.bsky.feed.threadgate",
    "app.bsky.labeler.service",
    "chat.bsky.actor.declaration",
    "com.atproto.lexicon.schema",
]


@pytest.fixture(scope="module")
def default() -> tuple[LexiconSet, SchemaRegistry]:
    pytest.importorskip("lexrpc")
    lexicons = default_lexicons()
    return lexicons, SchemaRegistry.from_lexicons(lexicons)


@pytest.fixture(scope="module")
def catalog() -> tuple[LexiconSet, SchemaRegistry]:
    lexicons = directory_lexicons(vectors_dir() / "lexicon" / "catalog" / "record.json")
    return lexicons, SchemaRegistry.from_lexicons(lexicons)


def _check(lexicons: LexiconSet, registry: SchemaRegistry, nsid: str) -> None:
    @settings(max_examples=15, deadline=None)
    @given(from_lexicon(nsid, lexicons))
    def valid(record: dict[str, Any]) -> None:
        assert registry.record_errors(record) == []

    @settings(max_examples=15, deadline=None)
    @given(invalid_from_lexicon(nsid, lexicons))
    def invalid(pair: tuple[dict[str, Any], Mutation]) -> None:
        record, mutation = pair
        errors = registry.record_errors(record)
        assert errors, f"not caught: {mutation}"
        parent = mutation.path.rsplit(".", 1)[0] if mutation.constraint == "required" else mutation.path
        paths = [re.sub(r"\['([^']*)'\]", r".\1", e) for e in errors]
        assert any(p.startswith(parent.split("[")[0]) for p in paths), (mutation, errors)

    valid()
    invalid()


@pytest.mark.parametrize("nsid", SAMPLE)
def test_default_record_types(default: tuple[LexiconSet, SchemaRegistry], nsid: str) -> None:
    _check(*default, nsid)


def test_vector_catalog_record(catalog: tuple[LexiconSet, SchemaRegistry]) -> None:
    _check(*catalog, "example.lexicon.record")
