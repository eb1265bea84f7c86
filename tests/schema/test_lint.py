"""The Lexicon linter agrees with the official lexicon vectors and finds nothing wrong in the default set."""

from __future__ import annotations

import json
from typing import Any

import pytest

from atcheck.paths import vectors_dir
from atcheck.schema.lint import lint_document
from atcheck.schema.sources import default_lexicons


def _cases(name: str) -> list[Any]:
    path = vectors_dir() / "lexicon" / name
    return [pytest.param(c["lexicon"], id=c["name"]) for c in json.loads(path.read_text())]


def _errors(raw: Any) -> list[str]:
    return [i.render() for i in lint_document(raw) if i.severity == "error"]


@pytest.mark.parametrize("lexicon", _cases("lexicon-valid.json"))
def test_valid_vectors_have_no_errors(lexicon: Any) -> None:
    assert _errors(lexicon) == []


@pytest.mark.parametrize("lexicon", _cases("lexicon-invalid.json"))
def test_invalid_vectors_are_flagged(lexicon: Any) -> None:
    assert _errors(lexicon)


@pytest.mark.parametrize("name", ["record", "query", "procedure", "subscription", "permission-set"])
def test_catalog_documents_are_clean(name: str) -> None:
    assert _errors(json.loads((vectors_dir() / "lexicon" / "catalog" / f"{name}.json").read_text())) == []


DEFAULT_SET_ERRORS = {
    # lexicon §object: 'properties (map of strings-to-objects, required)'; this def has none.
    ("community.lexicon.preference.ai", "$.defs.globalScope", "LEX-FILE-01"),
    # 'space' (the permissioned-spaces proposal) is not a Lexicon type in the spec.
    ("social.grain.privateGallery", "$.defs.main.type", "LEX-FILE-01"),
}


def test_default_set_errors_are_exactly_the_known_ones() -> None:
    pytest.importorskip("lexrpc")
    lexicons = default_lexicons()
    errors = {
        (d.nsid, i.path, i.rule)
        for d in lexicons.documents.values()
        for i in lint_document(d.raw, lexicons.documents)
        if i.severity == "error"
    }
    assert errors == DEFAULT_SET_ERRORS


BASE = {"lexicon": 1, "id": "com.example.thing", "defs": {}}


@pytest.mark.parametrize(
    ("defs", "rule"),
    [
        (
            {"main": {"type": "record", "key": "uuid", "record": {"type": "object", "properties": {}}}},
            "LEX-FILE-04",
        ),
        ({"main": {"type": "query", "input": {"encoding": "application/json"}}}, "LEX-FILE-05"),
        (
            {"main": {"type": "procedure", "output": {"schema": {"type": "object", "properties": {}}}}},
            "LEX-FILE-05",
        ),
        ({"main": {"type": "query", "errors": [{"name": "Bad Thing"}]}}, "LEX-FILE-05"),
        (
            {"main": {"type": "subscription", "message": {"schema": {"type": "object", "properties": {}}}}},
            "LEX-FILE-06",
        ),
        (
            {
                "main": {
                    "type": "query",
                    "parameters": {"type": "params", "properties": {"o": {"type": "blob"}}},
                }
            },
            "LEX-FILE-07",
        ),
        ({"x": {"type": "string", "const": "a", "default": "b"}}, "LEX-FILE-08"),
        ({"x": {"type": "integer", "enum": ["a"]}}, "LEX-FILE-08"),
        (
            {
                "t": {"type": "token"},
                "o": {"type": "object", "properties": {"r": {"type": "ref", "ref": "#t"}}},
            },
            "LEX-FILE-09",
        ),
        (
            {"o": {"type": "object", "properties": {"u": {"type": "union", "refs": [], "closed": True}}}},
            "LEX-FILE-09",
        ),
        (
            {
                "s": {"type": "string"},
                "o": {"type": "object", "properties": {"u": {"type": "union", "refs": ["#s"]}}},
            },
            "LEX-FILE-09",
        ),
        ({"o": {"type": "object", "properties": {"r": {"type": "ref", "ref": "#missing"}}}}, "LEX-FILE-10"),
        ({"b": {"type": "blob", "accept": ["text/ht*"]}}, "LEX-FILE-11"),
        ({"b": {"type": "blob", "accept": ["*"]}}, "LEX-FILE-11"),
        ({"main": {"type": "permission-set", "permissions": [{"type": "permission"}]}}, "LEX-FILE-13"),
        (
            {"main": {"type": "permission-set", "permissions": [], "title:lang": {"not a tag": "x"}}},
            "LEX-FILE-13",
        ),
        ({"o": {"type": "object", "required": ["nope"], "properties": {}}}, "LEX-FILE-01"),
        ({"s": {"type": "string", "format": "email"}}, "LEX-FILE-01"),
    ],
)
def test_rules(defs: dict[str, Any], rule: str) -> None:
    issues = lint_document({**BASE, "defs": defs})
    assert rule in {i.rule for i in issues if i.severity == "error"}, [i.render() for i in issues]


def test_issue_names_the_path() -> None:
    issues = lint_document(
        {
            **BASE,
            "defs": {
                "o": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}}
            },
        }
    )
    assert [i.render() for i in issues] == [
        "$.defs.o.properties.n: 'minimum' 5 is greater than 'maximum' 1 [LEX-FILE-08]"
    ]
