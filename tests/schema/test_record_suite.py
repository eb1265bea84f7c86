"""Helpers of the live Lexicon property suite (the suite itself runs against targets, from suites/lexicon)."""

from __future__ import annotations

import json

import httpx
import pytest

from atcheck.baseline import case_of
from atcheck.schema.generate import Mutation
from atcheck.suite import lexicon
from atcheck.syntax import is_valid_nsid, is_valid_record_key
from atcheck.xrpc.client import XrpcResponse


def test_blob_detection_is_deep() -> None:
    blob = {"$type": "blob", "ref": {"$link": "b"}, "mimeType": "image/png", "size": 1}
    assert lexicon.has_blob({"embed": {"images": [{"image": blob}]}})
    assert not lexicon.has_blob({"embed": {"images": [{"alt": "x"}]}, "$type": "app.bsky.feed.post"})


def test_rkeys_follow_the_lexicon_key_type() -> None:
    pytest.importorskip("lexrpc")
    assert lexicon.rkey_for("app.bsky.actor.profile") == "self"
    assert lexicon.rkey_for("app.bsky.feed.post") is None
    key = lexicon.rkey_for("com.atproto.lexicon.schema")
    assert key is not None and is_valid_nsid(key) and is_valid_record_key(key)


def test_the_library_holds_no_tests() -> None:
    """Suites live in suites/; the package they import defines helpers only."""
    assert not [name for name in dir(lexicon) if name.startswith("test_")]


def _response(status: int, body: object) -> XrpcResponse:
    return XrpcResponse(
        "POST", "http://127.0.0.1:1/xrpc/com.atproto.repo.createRecord", status,
        httpx.Headers({"content-type": "application/json"}), json.dumps(body).encode(),
    )  # fmt: skip


def test_a_known_leniency_names_its_exact_case_with_the_status() -> None:
    """The key says which leniency and what came back: a 500 on the same mutation is another case."""
    mutation = Mutation(
        "$.createdAt", "format", "'2023-01-01T12:00:00' is not a valid datetime (a timezone is required)"
    )
    ok = lexicon.refusal_expected(mutation, _response(200, {"uri": "at://x", "cid": "b"}))
    assert case_of(ok) == "ts-datetime-no-timezone -> HTTP 200"
    assert "Timezone specification is required." in ok
    crash = lexicon.refusal_expected(mutation, _response(500, {"error": "InternalServerError"}))
    assert case_of(crash) == "ts-datetime-no-timezone -> HTTP 500"


def test_an_undocumented_mutation_carries_no_case_key() -> None:
    mutation = Mutation("$.text", "maxLength", "3001 bytes")
    assert case_of(lexicon.refusal_expected(mutation, _response(200, {}))) is None


def test_a_refused_valid_uri_is_classed_only_when_its_scheme_is_punctuated() -> None:
    refused = _response(400, {"error": "InvalidRequest", "message": "Record/embed/uri must be a uri"})
    record = {"$type": "app.bsky.feed.post", "embed": {"uri": "a.:0"}}
    assert [k.id for k in lexicon.known_refusals(refused, record)] == ["ts-uri-rfc3986"]
    plain = {"$type": "app.bsky.feed.post", "embed": {"uri": "a:0"}}
    assert lexicon.known_refusals(refused, plain) == []  # not the documented leniency: a new failure
    assert lexicon.known_refusals(_response(500, {"message": "must be a uri"}), record) == []
