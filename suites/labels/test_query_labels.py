"""``com.atproto.label.queryLabels``: subject patterns, sources, paging (the Lexicon; label §Distribution).

``uriPatterns`` is required; each pattern is a full URI (exact match) or a prefix ending in ``*`` (matching
everything that starts with the text before it). ``sources`` filters by labeler DID. Paging follows the
XRPC cursor convention: the client passes back the cursor it got, with the other parameters unchanged, and
the end is reached when no cursor comes back (or an empty page). Each test labels subjects of its own,
under a fresh DID, so the patterns see only its labels.
"""

from __future__ import annotations

from typing import Any

import pytest

from atcheck.suite import ConformanceFailure, XrpcResponse, expect, expect_equal, expect_error, expect_ok
from atcheck.suite.labels import Labeler, create_labels, fresh_subject, query_labels

#: Every test here checks the labeler (some of their IDs also apply to PDSes and relays).
pytestmark = pytest.mark.role("labeler")

_MAX_PAGES = 20


def _labels(resp: XrpcResponse) -> list[dict[str, Any]]:
    labels = expect_ok(resp).get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, dict) for label in labels):
        raise ConformanceFailure("a labels array of objects", labels, resp)
    return labels


def _subjects(resp: XrpcResponse) -> set[tuple[str, str]]:
    return {(str(label.get("uri")), str(label.get("val"))) for label in _labels(resp)}


def _repo_of(uri: str) -> str:
    """``at://did:plc:x`` of a record URI ``at://did:plc:x/collection/rkey``."""
    return "/".join(uri.split("/")[:3])


@pytest.mark.requirement("LBL-API-01")
@pytest.mark.needs("label.create", "label.query")
def test_a_full_uri_matches_exactly(labeler: Labeler) -> None:
    """A pattern without ``*`` matches that URI only: not a longer URI it is a prefix of."""
    uri = fresh_subject()
    longer = uri + "x"
    create_labels(labeler, {"uri": uri, "val": "exact"}, {"uri": longer, "val": "longer"})
    resp = query_labels(labeler, [uri])
    expect_equal(_subjects(resp), {(uri, "exact")}, f"the labels on exactly {uri}", resp)


@pytest.mark.requirement("LBL-API-01")
@pytest.mark.needs("label.create", "label.query")
def test_a_trailing_star_matches_by_prefix(labeler: Labeler) -> None:
    """``at://<did>/*`` matches every record of that account, and nothing of another account."""
    first = fresh_subject()
    repo = _repo_of(first)
    second = f"{repo}/app.bsky.feed.like/3kaaaaaaaaaa2"
    elsewhere = fresh_subject()
    create_labels(
        labeler,
        {"uri": first, "val": "one"},
        {"uri": second, "val": "two"},
        {"uri": elsewhere, "val": "three"},
    )
    resp = query_labels(labeler, [f"{repo}/*"])
    expect_equal(_subjects(resp), {(first, "one"), (second, "two")}, f"the labels under {repo}/", resp)


@pytest.mark.requirement("LBL-API-01")
@pytest.mark.needs("label.create", "label.query")
def test_patterns_are_or_ed(labeler: Labeler) -> None:
    """Several patterns select the labels matching any of them."""
    one, two, three = fresh_subject(), fresh_subject("account"), fresh_subject()
    create_labels(labeler, {"uri": one, "val": "a"}, {"uri": two, "val": "b"}, {"uri": three, "val": "c"})
    resp = query_labels(labeler, [one, two])
    expect_equal(_subjects(resp), {(one, "a"), (two, "b")}, "the labels on either subject", resp)


@pytest.mark.requirement("LBL-API-01")
@pytest.mark.needs("label.create", "label.query")
def test_sources_filter_by_labeler(labeler: Labeler) -> None:
    """``sources`` naming the labeler keeps its labels; naming another DID leaves none."""
    uri = fresh_subject()
    create_labels(labeler, {"uri": uri, "val": "sourced"})
    mine = query_labels(labeler, [uri], sources=[labeler.did])
    expect_equal(_subjects(mine), {(uri, "sourced")}, "the labels with sources=[the labeler]", mine)
    other = query_labels(labeler, [uri], sources=[fresh_subject("account")])
    expect_equal(_labels(other), [], "no labels with sources=[another DID]", other)


@pytest.mark.requirement("LBL-API-01", "SYNC-HTTP-14")
@pytest.mark.needs("label.create", "label.query")
def test_the_cursor_pages_through_every_label_once(labeler: Labeler) -> None:
    """Following the cursor with ``limit=2`` yields every label of the subject exactly once, and ends.

    The end is a response without a cursor (SYNC-HTTP-14: pages may be short or even empty before the end,
    so an empty page alone is not the end); an empty page that hands back the cursor it was asked with is
    taken as the end too (nothing newer yet). A cursor that leads back to labels already returned makes a
    client page forever.
    """
    repo = _repo_of(fresh_subject())
    made = create_labels(
        labeler, *({"uri": f"{repo}/app.bsky.feed.post/3kpage{i}", "val": "paged"} for i in range(5))
    )
    wanted = {label.label["uri"] for label in made}
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        resp = query_labels(labeler, [f"{repo}/*"], limit=2, cursor=cursor)
        page = _labels(resp)
        expect(len(page) <= 2, "at most limit=2 labels in a page", len(page), resp)
        repeated = [str(label.get("uri")) for label in page if label.get("uri") in seen]
        expect(not repeated, "no label returned twice while paging", repeated, resp)
        seen.extend(str(label.get("uri")) for label in page)
        next_cursor = expect_ok(resp).get("cursor")
        if next_cursor is None or (not page and str(next_cursor) == cursor):
            break
        cursor = str(next_cursor)
    else:
        raise ConformanceFailure(f"paging to end within {_MAX_PAGES} pages", f"{len(seen)} labels so far")
    expect_equal(set(seen), wanted, "the labels seen while paging", None)


@pytest.mark.requirement("LBL-API-01", "XRPC-HTTP-05")
@pytest.mark.needs("label.query", "xrpc.errors")
def test_uri_patterns_are_required(labeler: Labeler) -> None:
    """``uriPatterns`` is a required parameter: a query without it is 400 ``InvalidRequest``."""
    resp = labeler.client.query("com.atproto.label.queryLabels", {})
    expect_error(resp, 400, "InvalidRequest")


@pytest.mark.requirement("LBL-API-01", "XRPC-HTTP-05")
@pytest.mark.needs("label.query", "xrpc.errors")
@pytest.mark.parametrize("limit", [0, 251])
def test_limit_out_of_range_is_refused(labeler: Labeler, limit: int) -> None:
    """``limit`` is 1 to 250: outside that range the query is 400 ``InvalidRequest``."""
    resp = query_labels(labeler, [fresh_subject()], limit=limit)
    expect_error(resp, 400, "InvalidRequest")
