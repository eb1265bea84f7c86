"""Labels at an AppView: a labeler's labels reach the AppView's views as the client's header asks
(label §Labeler HTTP Headers; needs ``appview.labels``: the ozone target's dev-env AppView).

A client names the labelers it wants in ``atproto-accept-labelers``: a comma-separated list of DIDs, each
with an optional bare ``redact`` parameter; repeated header fields merge, and a DID named twice gets its
flags OR-ed. The AppView hydrates those labelers' labels into its views (``labels`` of a post view), leaves
out the labels of labelers not named, and, for a labeler named with ``redact``, removes content carrying its
``!takedown`` label instead of annotating it. It answers ``atproto-content-labelers`` with the labelers it
consulted.

Each test writes a post on the target's PDS (``appview.labels`` implies a PDS the AppView indexes, where an
account can be made and posts written), waits for the AppView to index it, has the labeler label it,
and reads it back with ``app.bsky.feed.getPosts``. How the label travels from the labeler to the AppView is
the deployment's (the ozone target's start script subscribes to the labeler's stream); what is judged is
what the AppView does with the header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    expect,
    expect_ok,
    write_record,
)
from atcheck.suite.labels import Labeler, create_labels, fresh_subject

#: Every test here checks the AppView.
pytestmark = pytest.mark.role("appview")

HEADER = "atproto-accept-labelers"
_POST = "app.bsky.feed.post"
_WAIT_S = 20.0
_MARK = "atcheck-seen"


def _other_labeler() -> str:
    """A well-formed DID that no labeler has: named beside the real one, it must not bring its labels."""
    return fresh_subject("account")


def _get_post(
    appview: XrpcClient,
    uri: str,
    headers: dict[str, str] | None = None,
    repeated: list[tuple[str, str]] | None = None,
) -> tuple[dict[str, Any] | None, XrpcResponse]:
    resp = appview.query(
        "app.bsky.feed.getPosts", {"uris": [uri]}, headers=headers, repeated_headers=repeated or []
    )
    body = expect_ok(resp)
    posts = body.get("posts")
    expect(isinstance(posts, list), "a posts list", body, resp)
    found = [p for p in posts if isinstance(p, dict) and p.get("uri") == uri]
    return (found[0] if found else None), resp


def _wait(what: str, probe: Callable[[], tuple[bool, Any]]) -> Any:
    """Poll ``probe`` until it says done (the AppView indexes and hydrates asynchronously)."""
    deadline = time.monotonic() + _WAIT_S
    while True:
        done, last = probe()
        if done:
            return last
        if time.monotonic() > deadline:
            raise ConformanceFailure(f"{what} within {_WAIT_S:g} s", last)
        time.sleep(0.25)


def _labels_of(post: dict[str, Any] | None, src: str) -> set[str]:
    labels = (post or {}).get("labels") or []
    return {str(x.get("val")) for x in labels if isinstance(x, dict) and x.get("src") == src}


@pytest.fixture
def appview(target: TargetUnderTest) -> XrpcClient:
    return target.client("appview")


def _post_indexed(account: Account, appview: XrpcClient, text: str) -> tuple[str, str]:
    """Write a post on the target's PDS and wait until the AppView shows it; its URI and CID."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    written = write_record(account, {"$type": _POST, "text": text, "createdAt": now})
    _wait(
        "the AppView to index the new post",
        lambda: (lambda got: (got[0] is not None, got[1].describe()))(_get_post(appview, written.uri)),
    )
    return written.uri, written.cid


@pytest.fixture
def labelled(account: Account, labeler: Labeler, appview: XrpcClient) -> Callable[[str], str]:
    """Makes a post, waits until the AppView shows it, has the labeler label it ``val``; gives its URI."""

    def make(val: str) -> str:
        uri, cid = _post_indexed(account, appview, f"atcheck {val}")
        create_labels(labeler, {"uri": uri, "cid": cid, "val": val})
        # The label is there once a request naming only this labeler shows it.
        _wait(
            f"the label {val!r} of {labeler.did} on the post's view (with {HEADER}: {labeler.did})",
            lambda: (lambda got: (val in _labels_of(got[0], labeler.did), got[0]))(
                _get_post(appview, uri, {HEADER: labeler.did})
            ),
        )
        return uri

    return make


@pytest.mark.requirement("LBL-HDR-01")
@pytest.mark.needs("appview.labels", "label.create")
def test_a_labeler_not_named_brings_no_labels(
    labelled: Callable[[str], str], labeler: Labeler, appview: XrpcClient
) -> None:
    """Naming only another labeler: the post is shown without this labeler's label."""
    uri = labelled(_MARK)
    post, resp = _get_post(appview, uri, {HEADER: _other_labeler()})
    expect(post is not None, "the post in the view", resp.describe(), resp)
    expect(
        not _labels_of(post, labeler.did),
        f"no label of {labeler.did}, which the header does not name",
        (post or {}).get("labels"),
        resp,
    )


@pytest.mark.requirement("LBL-HDR-01")
@pytest.mark.needs("appview.labels", "label.create")
def test_a_list_of_labelers_is_honoured(
    labelled: Callable[[str], str], labeler: Labeler, appview: XrpcClient
) -> None:
    """``did:a, did:b;redact``: a list with a parameter parses, and the named labeler's label is there."""
    uri = labelled(_MARK)
    header = f"{_other_labeler()};redact, {labeler.did}"
    post, resp = _get_post(appview, uri, {HEADER: header})
    expect(_MARK in _labels_of(post, labeler.did), f"the label {_MARK!r} for {HEADER}: {header}", post, resp)


@pytest.mark.requirement("LBL-HDR-01")
@pytest.mark.needs("appview.labels", "label.create")
def test_repeated_header_fields_merge(
    labelled: Callable[[str], str], labeler: Labeler, appview: XrpcClient
) -> None:
    """Two header lines, one naming another labeler and one this labeler: both count."""
    uri = labelled(_MARK)
    repeated = [(HEADER, _other_labeler()), (HEADER, labeler.did)]
    post, resp = _get_post(appview, uri, repeated=repeated)
    expect(_MARK in _labels_of(post, labeler.did), "the label, from the second header line", post, resp)


@pytest.mark.requirement("LBL-HDR-01", "LBL-HDR-05")
@pytest.mark.needs("appview.labels", "label.create")
def test_redact_of_a_duplicate_is_or_ed_and_removes_taken_down_content(
    labelled: Callable[[str], str], labeler: Labeler, appview: XrpcClient
) -> None:
    """``did`` and ``did;redact`` merge to redact: a post with that labeler's ``!takedown`` is left out.

    Without ``redact`` the same post is shown, annotated with the label (the header decides, not the label).
    """
    uri = labelled("!takedown")
    shown, resp = _get_post(appview, uri, {HEADER: labeler.did})
    expect(
        shown is not None and "!takedown" in _labels_of(shown, labeler.did),
        "without redact: the post, annotated with !takedown",
        shown,
        resp,
    )
    header = f"{labeler.did}, {labeler.did};redact"
    redacted, resp = _get_post(appview, uri, {HEADER: header})
    expect(redacted is None, f"no post for {HEADER}: {header} (redact OR-ed in)", redacted, resp)


@pytest.mark.requirement("LBL-HDR-03")
@pytest.mark.needs("appview.labels", "label.create")
def test_content_labelers_names_the_labeler_consulted(
    labelled: Callable[[str], str], labeler: Labeler, appview: XrpcClient
) -> None:
    """``atproto-content-labelers`` names the labeler and leaves out a DID that is no labeler."""
    uri = labelled(_MARK)
    other = _other_labeler()
    _, resp = _get_post(appview, uri, {HEADER: f"{labeler.did}, {labeler.did}, {other}"})
    echoed = resp.headers.get("atproto-content-labelers")
    expect(echoed is not None, "an atproto-content-labelers header", dict(resp.headers), resp)
    dids = [part.split(";")[0].strip() for part in str(echoed).split(",") if part.strip()]
    expect(dids.count(labeler.did) == 1, f"{labeler.did} named once", echoed, resp)
    expect(other not in dids, f"no {other} (it is not a labeler)", echoed, resp)


@pytest.mark.requirement("LBL-HDR-04")
@pytest.mark.needs("appview.labels", "label.create")
def test_an_empty_header_hydrates_no_labels(
    labelled: Callable[[str], str], labeler: Labeler, appview: XrpcClient
) -> None:
    uri = labelled(_MARK)
    post, resp = _get_post(appview, uri, {HEADER: ""})
    expect(post is not None, "the post in the view", resp.describe(), resp)
    expect(not (post or {}).get("labels"), "no labels for an empty header", (post or {}).get("labels"), resp)


@pytest.mark.requirement("LBL-LIFE-03")
@pytest.mark.needs("appview.labels", "label.create")
def test_an_expired_label_is_not_hydrated(account: Account, labeler: Labeler, appview: XrpcClient) -> None:
    """A label whose ``exp`` has passed is left out of the view (label §Label Lifecycle).

    The labeler makes the expired label first and a live one after it on the same post; once the live one
    shows, the expired one has had every chance to arrive too.
    """
    uri, cid = _post_indexed(account, appview, "atcheck expiry")
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    create_labels(labeler, {"uri": uri, "cid": cid, "val": "atcheck-expired", "exp": past})
    create_labels(labeler, {"uri": uri, "cid": cid, "val": _MARK})
    post = _wait(
        f"the live label {_MARK!r} on the post's view",
        lambda: (lambda got: (_MARK in _labels_of(got[0], labeler.did), got[0]))(
            _get_post(appview, uri, {HEADER: labeler.did})
        ),
    )
    expect(
        "atcheck-expired" not in _labels_of(post, labeler.did),
        "no label whose exp has passed",
        (post or {}).get("labels"),
    )


@pytest.mark.requirement("LBL-HDR-02")
@pytest.mark.needs("appview.labels")
def test_an_unparseable_header_is_an_error(appview: XrpcClient) -> None:
    """A header that is no list of DIDs is refused with a 400, not silently replaced by the default."""
    uri = f"at://{fresh_subject('account')}/{_POST}/3kabcdefghi22"
    resp = appview.query("app.bsky.feed.getPosts", {"uris": [uri]}, headers={HEADER: "((not-a-did"})
    expect(resp.status == 400, "HTTP 400 for an unparseable atproto-accept-labelers", resp.status, resp)
