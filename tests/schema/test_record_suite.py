"""Helpers of the live record property suite (the suite itself runs against targets, from suites/)."""

from __future__ import annotations

import pytest

from atcheck.schema import record_suite
from atcheck.syntax import is_valid_nsid, is_valid_record_key


def test_blob_detection_is_deep() -> None:
    blob = {"$type": "blob", "ref": {"$link": "b"}, "mimeType": "image/png", "size": 1}
    assert record_suite._has_blob({"embed": {"images": [{"image": blob}]}})
    assert not record_suite._has_blob({"embed": {"images": [{"alt": "x"}]}, "$type": "app.bsky.feed.post"})


def test_rkeys_follow_the_lexicon_key_type() -> None:
    pytest.importorskip("lexrpc")
    assert record_suite._rkey("app.bsky.actor.profile") == "self"
    assert record_suite._rkey("app.bsky.feed.post") is None
    key = record_suite._rkey("com.atproto.lexicon.schema")
    assert key is not None and is_valid_nsid(key) and is_valid_record_key(key)


def test_suite_functions_carry_requirements_and_capabilities() -> None:
    for test in (
        record_suite.test_generated_valid_record_round_trips,
        record_suite.test_generated_invalid_record_is_refused_and_nothing_written,
    ):
        names = {m.name for m in test.pytestmark}
        assert {"requirement", "needs", "parametrize"} <= names
