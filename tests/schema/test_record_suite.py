"""Helpers of the live Lexicon property suite (the suite itself runs against targets, from suites/lexicon)."""

from __future__ import annotations

import pytest

from atcheck.suite import lexicon
from atcheck.syntax import is_valid_nsid, is_valid_record_key


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
