"""String formats inside records, as a validating PDS judges them (``validate: true``).

The Lexicon property suite draws format violations at random; these cases pin the rules the syntax specs
state outright, so each has a verdict of its own: a DID of any method is a valid ``did`` (the PDS must not
resolve or restrict the method), a DID that breaks the grammar is not, and a ``datetime`` needs a time with
seconds and a timezone.
"""

from __future__ import annotations

import pytest

from atcheck.suite import (
    Account,
    expect_absent,
    expect_error,
    expect_stored,
    new_tid,
    put_record,
    write_record,
)

FOLLOW = "app.bsky.graph.follow"
POST = "app.bsky.feed.post"
CREATED_AT = "2026-01-01T00:00:00.000Z"


def _follow(subject: str) -> dict[str, str]:
    return {"$type": FOLLOW, "subject": subject, "createdAt": CREATED_AT}


@pytest.mark.requirement("SYN-DID-05")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
@pytest.mark.parametrize(
    "subject",
    ["did:example:atcheck123", "did:web:example.test", "did:method:a:b:c", "did:key:zQ3shatcheck"],
    ids=["example-method", "did-web", "colons-inside", "did-key"],
)
def test_a_did_of_any_method_is_a_valid_did(module_account: Account, subject: str) -> None:
    """ "Lexicon string format type did ... should accept any syntactically valid DID, whatever the method":
    a follow of a DID with an unknown method is stored as written."""
    rkey = new_tid()
    write_record(module_account, _follow(subject), rkey=rkey, collection=FOLLOW, validate=True)
    expect_stored(module_account, rkey, _follow(subject), collection=FOLLOW)


@pytest.mark.requirement("SYN-DID-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
@pytest.mark.parametrize(
    "subject",
    ["did:Example:abc", "DID:plc:abc", "did:plc:abc:", "did:plc:abc%", "did:plc:a b", "did:plc:", "did:plc"],
    ids=[
        "uppercase-method",
        "uppercase-prefix",
        "trailing-colon",
        "trailing-percent",
        "space",
        "empty-id",
        "no-id",
    ],
)
def test_a_did_breaking_the_grammar_is_refused(module_account: Account, subject: str) -> None:
    """The DID grammar: lowercase ``did:``, a method of ``[a-z]``, an identifier of the allowed characters
    that does not end in ``:`` or ``%``. A record holding anything else in a ``did`` field is refused."""
    rkey = new_tid()
    resp = put_record(module_account, _follow(subject), rkey=rkey, collection=FOLLOW, validate=True)
    expect_error(resp, 400)
    expect_absent(module_account, rkey, collection=FOLLOW)


@pytest.mark.requirement("SYN-DT-01")
@pytest.mark.needs("repo.write", "repo.read", "repo.validate")
@pytest.mark.parametrize(
    "created_at",
    ["2026-01-01T12:00:00", "2026-01-01", "2026-01-01T12:00Z", "2026-01-01T12:00:00.000"],
    ids=["no-timezone", "date-only", "no-seconds", "fraction-no-timezone"],
)
def test_a_datetime_without_seconds_or_timezone_is_refused(module_account: Account, created_at: str) -> None:
    """ "datetime: YYYY-MM-DDTHH:MM:SS with optional fractional seconds and a required timezone": a post whose
    ``createdAt`` lacks the time, the seconds or the timezone is refused."""
    rkey = new_tid()
    record = {"$type": POST, "text": "when?", "createdAt": created_at}
    resp = put_record(module_account, record, rkey=rkey, collection=POST, validate=True)
    expect_error(resp, 400)
    expect_absent(module_account, rkey, collection=POST)
