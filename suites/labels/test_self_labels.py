"""Self-labels in records (label §Self-Labels in Records; ``com.atproto.label.defs#selfLabels``).

A record may carry its own label values: ``{"$type": "com.atproto.label.defs#selfLabels", "values":
[{"val": ...}]}``, at most 10 values, each ``val`` at most 128 bytes. A PDS that validates records against
their Lexicon (``validate: true``) stores a post within those bounds and refuses one beyond them, writing
nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from atcheck.suite import Account, expect, expect_ok, new_tid, put_record, read_record

#: These tests check the PDS that stores the records.
pytestmark = pytest.mark.role("pds")

_POST = "app.bsky.feed.post"


def _post(values: list[str]) -> dict[str, Any]:
    return {
        "$type": _POST,
        "text": "self-labelled",
        "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": v} for v in values]},
    }


@pytest.mark.requirement("LBL-SELF-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
def test_ten_self_labels_are_stored(module_account: Account) -> None:
    rkey = new_tid()
    record = _post([f"label-{i}" for i in range(9)] + ["x" * 128])
    expect_ok(put_record(module_account, record, rkey=rkey, collection=_POST, validate=True))
    got = expect_ok(read_record(module_account, rkey, collection=_POST))
    expect(got.get("value", {}).get("labels") == record["labels"], "the self-labels stored as written", got)


@pytest.mark.requirement("LBL-SELF-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
@pytest.mark.parametrize(
    "values",
    [[f"label-{i}" for i in range(11)], ["x" * 129]],
    ids=["eleven-values", "val-129-bytes"],
)
def test_self_labels_beyond_the_bounds_are_refused(module_account: Account, values: list[str]) -> None:
    rkey = new_tid()
    resp = put_record(module_account, _post(values), rkey=rkey, collection=_POST, validate=True)
    expect(resp.status == 400, "HTTP 400 for self-labels beyond the Lexicon's bounds", resp.status, resp)
    stored = read_record(module_account, rkey, collection=_POST)
    expect(stored.status != 200, "nothing stored for the refused record", stored.status, stored)
