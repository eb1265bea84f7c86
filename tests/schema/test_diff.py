"""The schema differ classifies each kind of Lexicon change under the evolution rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from atcheck.schema.diff import BREAKING, OK, WARNING, diff_sets
from atcheck.schema.document import parse_document

RECORD: dict[str, Any] = {
    "lexicon": 1,
    "id": "com.example.note",
    "defs": {
        "main": {
            "type": "record",
            "key": "tid",
            "record": {
                "type": "object",
                "required": ["text"],
                "nullable": ["mood"],
                "properties": {
                    "text": {"type": "string", "maxLength": 100},
                    "mood": {"type": "string", "knownValues": ["happy"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "embed": {"type": "union", "refs": ["#a", "#b"]},
                    "kind": {"type": "union", "refs": ["#a"], "closed": True},
                    "meta": {"type": "ref", "ref": "com.example.defs#meta"},
                },
            },
        },
        "a": {"type": "object", "properties": {"x": {"type": "integer"}}},
        "b": {"type": "object", "properties": {"y": {"type": "integer"}}},
    },
}
DEFS: dict[str, Any] = {
    "lexicon": 1,
    "id": "com.example.defs",
    "defs": {"meta": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}},
}
QUERY: dict[str, Any] = {
    "lexicon": 1,
    "id": "com.example.get",
    "defs": {
        "main": {
            "type": "query",
            "parameters": {"type": "params", "properties": {"limit": {"type": "integer"}}},
            "output": {"encoding": "application/json", "schema": {"type": "object", "properties": {}}},
            "errors": [{"name": "NotFound"}],
        }
    },
}


def _set(*raws: dict[str, Any]) -> dict[str, Any]:
    return {r["id"]: parse_document(r, r["id"]) for r in raws}


def _diff(edit: Any) -> list[tuple[str, str, str, str]]:
    new = [copy.deepcopy(RECORD), copy.deepcopy(DEFS), copy.deepcopy(QUERY)]
    edit(*new)
    return [(c.kind, c.severity, c.context, c.path) for c in diff_sets(_set(RECORD, DEFS, QUERY), _set(*new))]


def _body(rec: dict[str, Any]) -> dict[str, Any]:
    return rec["defs"]["main"]["record"]  # type: ignore[no-any-return]


def test_no_change_no_output() -> None:
    assert _diff(lambda *docs: None) == []


@pytest.mark.parametrize(
    ("edit", "kind", "severity"),
    [
        (lambda r, d, q: _body(r)["properties"].update(extra={"type": "string"}), "optional-field-added", OK),
        (
            lambda r, d, q: (
                _body(r)["properties"].update(extra={"type": "string"}),
                _body(r)["required"].append("extra"),
            ),
            "required-field-added",
            BREAKING,
        ),
        (lambda r, d, q: _body(r)["properties"].pop("tags"), "optional-field-removed", WARNING),
        (
            lambda r, d, q: (_body(r)["properties"].pop("text"), _body(r)["required"].clear()),
            "required-field-removed",
            BREAKING,
        ),
        (lambda r, d, q: _body(r)["required"].append("tags"), "made-required", BREAKING),
        (lambda r, d, q: _body(r)["required"].clear(), "made-optional", BREAKING),
        (lambda r, d, q: _body(r)["nullable"].clear(), "nullable-changed", BREAKING),
        (
            lambda r, d, q: _body(r)["properties"]["text"].update(maxLength=200),
            "constraint-changed",
            BREAKING,
        ),
        (lambda r, d, q: _body(r)["properties"]["text"].update(type="integer"), "type-changed", BREAKING),
        (
            lambda r, d, q: _body(r)["properties"]["mood"].update(knownValues=["happy", "sad"]),
            "known-value-added",
            OK,
        ),
        (
            lambda r, d, q: _body(r)["properties"]["mood"].update(knownValues=[]),
            "known-value-removed",
            WARNING,
        ),
        (lambda r, d, q: _body(r)["properties"]["embed"]["refs"].pop(), "union-ref-removed", BREAKING),
        (
            lambda r, d, q: _body(r)["properties"]["embed"]["refs"].append("com.example.defs#meta"),
            "union-ref-added",
            OK,
        ),
        (lambda r, d, q: _body(r)["properties"]["kind"]["refs"].append("#b"), "union-ref-added", BREAKING),
        (
            lambda r, d, q: _body(r)["properties"]["embed"].update(closed=True),
            "union-closed-changed",
            BREAKING,
        ),
        (lambda r, d, q: r["defs"]["main"].update(key="any"), "record-key-changed", BREAKING),
        (lambda r, d, q: r["defs"].pop("b"), "def-removed", BREAKING),
        (lambda r, d, q: r["defs"].update(c={"type": "token"}), "def-added", OK),
        (
            lambda r, d, q: q["defs"]["main"]["output"].update(encoding="application/cbor"),
            "encoding-changed",
            BREAKING,
        ),
        (lambda r, d, q: q["defs"]["main"].update(errors=[]), "error-removed", WARNING),
        (
            lambda r, d, q: q["defs"]["main"]["parameters"]["properties"]["limit"].update(maximum=5),
            "constraint-changed",
            BREAKING,
        ),
        (lambda r, d, q: q["defs"]["main"].update(type="procedure"), "type-changed", BREAKING),
    ],
)
def test_change_kinds(edit: Any, kind: str, severity: str) -> None:
    changes = _diff(edit)
    assert (kind, severity) in {(c[0], c[1]) for c in changes}, changes


def test_shared_def_change_is_reported_against_the_record() -> None:
    changes = _diff(lambda r, d, q: d["defs"]["meta"]["properties"]["n"].update(minimum=1))
    contexts = {(c[2], c[3]) for c in changes if c[0] == "constraint-changed"}
    assert ("record", "#main.record.meta->com.example.defs#meta.n.minimum") in contexts
    assert ("def", "#meta.n.minimum") in contexts


def test_contexts_separate_params_output_and_record() -> None:
    def edit(r: Any, d: Any, q: Any) -> None:
        q["defs"]["main"]["output"]["schema"]["properties"]["x"] = {"type": "string"}
        q["defs"]["main"]["output"]["schema"]["required"] = ["x"]
        q["defs"]["main"]["parameters"]["required"] = ["limit"]

    changes = _diff(edit)
    assert ("required-field-added", BREAKING, "output", "#main.output.schema.x") in changes
    assert ("made-required", BREAKING, "params", "#main.parameters.limit") in changes


def test_recursive_defs_terminate_and_report_once_per_context() -> None:
    def thread(max_len: int) -> dict[str, Any]:
        return {
            "lexicon": 1,
            "id": "com.example.thread",
            "defs": {
                "node": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": max_len},
                        "replies": {"type": "array", "items": {"type": "union", "refs": ["#node"]}},
                        "parent": {"type": "ref", "ref": "#node"},
                    },
                }
            },
        }

    changes = diff_sets(_set(thread(10)), _set(thread(20)))
    paths = sorted(c.path for c in changes)
    assert paths == [
        "#node.parent->com.example.thread#node.text.maxLength",
        "#node.text.maxLength",
    ]
