"""The committed schemas/lexicons/ are current, complete, and usable by a stock JSON Schema validator."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from atcheck.errors import UsageError
from atcheck.schema import build
from atcheck.schema.keywords import format_checker
from atcheck.schema.registry import default_registry, lexicon_schema, schemas_dir, validate
from atcheck.schema.sources import PINNED_VERSION, default_lexicons

POST = {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2024-05-01T12:00:00.000Z"}


def test_committed_schemas_are_current() -> None:
    pytest.importorskip("lexrpc", reason="the default Lexicon source (lexrpc wheel) is not installed")
    lexicons = default_lexicons()
    assert lexicons.provenance["version"] == PINNED_VERSION, (
        "installed lexrpc differs from the pinned version"
    )
    staleness = build.compare(build.generate(lexicons), schemas_dir())
    assert staleness.current, f"schemas/lexicons is stale: {staleness.summary()}; run `atcheck schema build`"


def test_one_schema_per_default_lexicon() -> None:
    index = json.loads((schemas_dir() / "index.json").read_text())
    files = {p.name for p in schemas_dir().glob("*.json")} - {"index.json"}
    assert index["count"] == len(files) == len(index["lexicons"])
    assert index["x-atcheck"]["package"] == "lexrpc"
    assert index["x-atcheck"]["version"] == PINNED_VERSION


def test_bundle_is_self_contained_for_a_stock_validator() -> None:
    schema = lexicon_schema("app.bsky.feed.post", "record")
    stock = jsonschema.Draft202012Validator(schema, format_checker=format_checker())
    assert stock.is_valid(POST)
    assert not stock.is_valid({**POST, "createdAt": "yesterday"})
    assert not stock.is_valid({**POST, "embed": {"$type": "app.bsky.embed.images", "images": "no"}})


def test_validate_reports_path_and_reason() -> None:
    assert validate(POST, "app.bsky.feed.post", "record") == []
    errors = validate({**POST, "text": "é" * 1501}, "app.bsky.feed.post", "record")
    shown = "é" * 40
    assert sorted(errors) == [
        f"$.text: '{shown}' has 1501 graphemes, limit 300",
        f"$.text: '{shown}' has 3002 UTF-8 bytes, limit 3000",
    ]


@pytest.mark.parametrize(
    ("nsid", "part", "instance", "valid"),
    [
        (
            "com.atproto.server.describeServer",
            "output",
            {"did": "did:web:pds.test", "availableUserDomains": []},
            True,
        ),
        (
            "com.atproto.server.describeServer",
            "output",
            {"did": "pds.test", "availableUserDomains": []},
            False,
        ),
        (
            "com.atproto.repo.createRecord",
            "input",
            {"repo": "alice.test", "collection": "a.b.c", "record": {}},
            True,
        ),
        ("com.atproto.repo.createRecord", "input", {"repo": "alice.test", "collection": "a.b.c"}, False),
        (
            "com.atproto.repo.listRecords",
            "params",
            {"repo": "alice.test", "collection": "a.b.c", "limit": 10},
            True,
        ),
        (
            "com.atproto.repo.listRecords",
            "params",
            {"repo": "alice.test", "collection": "a.b.c", "limit": 0},
            False,
        ),
        (
            "com.atproto.sync.subscribeRepos",
            "message",
            {"seq": 1, "did": "did:plc:a", "time": "2024-01-01T00:00:00Z"},
            True,
        ),
        (
            "com.atproto.sync.subscribeRepos",
            "message",
            {
                "$type": "com.atproto.sync.subscribeRepos#account",
                "seq": 1,
                "did": "did:plc:a",
                "time": "2024-01-01T00:00:00Z",
            },
            False,
        ),
    ],
)
def test_parts(nsid: str, part: str, instance: dict[str, Any], valid: bool) -> None:
    assert (validate(instance, nsid, part) == []) is valid


def test_integers_reject_floats() -> None:
    errors = validate(
        {"repo": "alice.test", "collection": "a.b.c", "limit": 10.0}, "com.atproto.repo.listRecords", "params"
    )
    assert errors and "limit" in errors[0]


@pytest.mark.parametrize(
    ("nsid", "part", "message"),
    [
        ("com.atproto.sync.getBlob", "output", "no output schema (its output is */*"),
        ("app.bsky.feed.post", "output", "no output schema"),
        ("com.atproto.repo.createRecord", "record", "not a record"),
        ("com.example.nothing", "record", "unknown Lexicon NSID"),
        ("app.bsky.feed.post", "body", "unknown schema part"),
    ],
)
def test_missing_parts_are_usage_errors(nsid: str, part: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("*", r"\*").replace("(", r"\(")):
        lexicon_schema(nsid, part)


def test_every_record_type_has_a_record_schema() -> None:
    registry = default_registry()
    assert len(registry.record_types()) > 50
    for nsid in registry.record_types():
        assert lexicon_schema(nsid, "record")["$ref"] == f"#/$defs/{nsid}/$defs/main"


def test_main_suffix_in_union_type_is_invalid() -> None:
    embed = {
        "$type": "app.bsky.embed.external#main",
        "external": {"uri": "https://a.test", "title": "", "description": ""},
    }
    errors = validate({**POST, "embed": embed}, "app.bsky.feed.post", "record")
    assert errors and errors[0].startswith("$.embed['$type']")
    assert (
        validate(
            {**POST, "embed": {**embed, "$type": "app.bsky.embed.external"}}, "app.bsky.feed.post", "record"
        )
        == []
    )


def test_message_variant_by_frame_header() -> None:
    from atcheck.schema.registry import message_schema, validate_message

    account = {
        "seq": 5,
        "did": "did:plc:a",
        "time": "2024-01-01T00:00:00Z",
        "active": False,
        "status": "deleted",
    }
    assert validate_message(account, "com.atproto.sync.subscribeRepos", "#account") == []
    errors = validate_message({**account, "active": "no"}, "com.atproto.sync.subscribeRepos", "#account")
    assert errors == ["$.active: 'no' is not of type 'boolean'"]
    assert validate_message({"seq": 5}, "com.atproto.sync.subscribeRepos", "#commit")
    schema = message_schema("com.atproto.sync.subscribeRepos", "#commit")
    assert schema["$ref"] == "#/$defs/com.atproto.sync.subscribeRepos/$defs/commit"
    with pytest.raises(UsageError, match="must be '#<name>'"):
        message_schema("com.atproto.sync.subscribeRepos", "commit")
    with pytest.raises(UsageError, match="has no def 'nope'"):
        validate_message({}, "com.atproto.sync.subscribeRepos", "#nope")
