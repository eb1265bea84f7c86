"""listRecords: cursor paging and ``reverse`` over a collection whose contents the test knows exactly.

Spec: https://atproto.com/specs/xrpc (Cursors and Pagination; boolean params), the
com.atproto.repo.listRecords Lexicon. One account per module holds a collection of records written in an
order unrelated to their keys, so a listing that skips or repeats across pages, or ignores ``reverse``, shows
up.
"""

from __future__ import annotations

from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    ParamValue,
    expect,
    expect_equal,
    expect_ok,
    expect_valid,
    lexicon_schema,
    note,
    write_record,
)
from atcheck.suite.oracle import cid_for_record

COLLECTION = "com.example.atcheck.listed"
#: Written in this order; sorted by key they are k00..k06.
RKEYS = ["k03", "k00", "k06", "k01", "k05", "k02", "k04"]
PAGE_LIMITS = [1, 3, 7, 100]


@pytest.fixture(scope="module")
def listed(module_account: Account) -> Account:
    """The module account with RKEYS written into COLLECTION (once per target)."""
    for rkey in RKEYS:
        write_record(module_account, note(f"record {rkey}", COLLECTION), rkey=rkey)
    return module_account


def all_pages(account: Account, limit: int, reverse: bool | None) -> list[dict[str, Any]]:
    """Follow cursors to the end; every page must respect ``limit`` and match the Lexicon output schema."""
    schema = lexicon_schema("com.atproto.repo.listRecords", "output")
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(len(RKEYS) * 2 + 2):  # more pages than could be needed: a cursor loop is a failure
        params: dict[str, ParamValue] = {"repo": account.did, "collection": COLLECTION, "limit": limit}
        if reverse is not None:
            params["reverse"] = reverse
        if cursor is not None:
            params["cursor"] = cursor
        resp = account.client.query("com.atproto.repo.listRecords", params)
        page = expect_ok(resp)
        expect_valid(page, schema, "the listRecords output", resp)
        expect(
            len(page["records"]) <= limit,
            f"at most limit={limit} records per page",
            len(page["records"]),
            resp,
        )
        records.extend(page["records"])
        next_cursor = page.get("cursor")
        if next_cursor is None:
            return records
        expect(next_cursor != cursor, "a cursor that moves on", next_cursor, resp)
        cursor = next_cursor
    raise ConformanceFailure(
        f"paging of {len(RKEYS)} records with limit={limit} to end", "the cursor never ran out"
    )


def rkeys_of(records: list[dict[str, Any]]) -> list[str]:
    return [str(r.get("uri", "")).rsplit("/", 1)[-1] for r in records]


@pytest.mark.requirement("SYNC-HTTP-14")
@pytest.mark.needs("repo.write", "repo.read")
@pytest.mark.parametrize("limit", PAGE_LIMITS)
def test_pages_cover_the_collection_exactly_once(listed: Account, limit: int) -> None:
    got = rkeys_of(all_pages(listed, limit, reverse=None))
    expect_equal(sorted(got), sorted(RKEYS), f"the union of listRecords pages (limit={limit})")
    expect_equal(len(got), len(set(got)), f"no record listed twice across pages (limit={limit}); got {got}")


@pytest.mark.requirement("REPO-LIST-01")
@pytest.mark.needs("repo.write", "repo.read")
def test_reverse_lists_the_same_records_in_the_opposite_order(listed: Account) -> None:
    """``reverse=true`` (a boolean spelled ``true``) flips the order; one page, so paging is not judged."""
    forward = rkeys_of(all_pages(listed, 100, reverse=False))
    backward = rkeys_of(all_pages(listed, 100, reverse=True))
    expect_equal(backward, list(reversed(forward)), f"reverse=true to list {forward} backwards")


@pytest.mark.requirement("REPO-LIST-01")
@pytest.mark.needs("repo.write", "repo.read")
@pytest.mark.parametrize("limit", [1, 3])
def test_reverse_pages_cover_the_collection_backwards(listed: Account, limit: int) -> None:
    forward = rkeys_of(all_pages(listed, 100, reverse=False))
    backward = rkeys_of(all_pages(listed, limit, reverse=True))
    expect_equal(backward, list(reversed(forward)), f"reverse=true pages (limit={limit}) joined")


@pytest.mark.requirement("REPO-REC-01")
@pytest.mark.needs("repo.write", "repo.read")
def test_listed_cids_and_values_match_the_records(listed: Account) -> None:
    for record in all_pages(listed, 100, reverse=None):
        rkey = str(record.get("uri", "")).rsplit("/", 1)[-1]
        expect_equal(record.get("uri"), f"at://{listed.did}/{COLLECTION}/{rkey}", "a listed record's uri")
        want = note(f"record {rkey}", COLLECTION)
        expect_equal(record.get("value"), want, f"the listed value of {rkey}")
        expect_equal(record.get("cid"), cid_for_record(want), f"the listed cid of {rkey}")
