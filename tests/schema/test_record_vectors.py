"""The official lexicon record-data vectors: atcheck's verdict must match every one (100% agreement)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from atcheck.paths import vectors_dir
from atcheck.schema.registry import SchemaRegistry
from atcheck.schema.sources import directory_lexicons


def _lexicon_dir() -> Path:
    return vectors_dir() / "lexicon"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.from_lexicons(directory_lexicons(_lexicon_dir() / "catalog" / "record.json"))


def _cases(name: str) -> list[Any]:
    return [pytest.param(c, id=c["name"]) for c in json.loads((_lexicon_dir() / name).read_text())]


@pytest.mark.parametrize("case", _cases("record-data-valid.json"))
def test_valid_records_pass(registry: SchemaRegistry, case: dict[str, Any]) -> None:
    assert registry.record_errors(case["data"]) == []


@pytest.mark.parametrize("case", _cases("record-data-invalid.json"))
def test_invalid_records_fail(registry: SchemaRegistry, case: dict[str, Any]) -> None:
    errors = registry.record_errors(case["data"])
    assert errors, f"{case['name']} was accepted"
    assert all(line.startswith("$") for line in errors)
