"""Permission sets: an ``include:<nsid>`` scope is resolved through Lexicon resolution to the set's
permissions, and only those within the set's own NSID group (or below), without wildcards, of the resources
a set may hold and with known parameters are granted (permission spec §Permission Sets, §Namespace Authority).

The sets are published by atcheck itself under its fixed Lexicon authority
(:mod:`atcheck.suite.oauth_lexicons`), which the target must be configured to ask (capability
``oauth.permission-sets``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from atcheck.suite import Account, TargetUnderTest, XrpcClient, XrpcResponse, expect_status
from atcheck.suite.oauth import OAuthClient, OAuthServer, Tokens, loopback_client
from atcheck.suite.oauth_checks import expect_refused
from atcheck.suite.oauth_lexicons import lexicon_authority

pytestmark = pytest.mark.needs("oauth", "oauth.permission-sets", "account.create")

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _create(client: OAuthClient, tokens: Tokens, did: str, collection: str) -> XrpcResponse:
    record = {
        "$type": collection,
        "text": "written under a permission set",
        "createdAt": "2026-01-01T00:00:00.000Z",
    }
    body = {"repo": did, "collection": collection, "record": record}
    return client.resource("POST", "com.atproto.repo.createRecord", tokens.access_token, json_body=body)


def _upload(client: OAuthClient, tokens: Tokens, did: str, collection: str) -> XrpcResponse:
    return client.resource(
        "POST", "com.atproto.repo.uploadBlob", tokens.access_token, data=PNG, content_type="image/png"
    )


#: (case, the set's one extra entry, what the check does, whether it must be allowed). ``{group}`` is the
#: set's NSID group; every set also grants ``{group}.note``, the control.
CASES: list[
    tuple[str, dict[str, object], Callable[[OAuthClient, Tokens, str, str], XrpcResponse], str, bool]
] = [
    ("in-group", {"resource": "repo", "collection": ["{group}.note"]}, _create, "{group}.note", True),
    (
        "below-group",
        {"resource": "repo", "collection": ["{group}.sub.note"]},
        _create,
        "{group}.sub.note",
        True,
    ),
    (
        "other-namespace",
        {"resource": "repo", "collection": ["com.example.elsewhere.note"]},
        _create,
        "com.example.elsewhere.note",
        False,
    ),
    ("wildcard", {"resource": "repo", "collection": ["*"]}, _create, "com.example.elsewhere.any", False),
    (
        "unknown-param",
        {"resource": "repo", "collection": ["{group}.odd"], "frobnicate": "yes"},
        _create,
        "{group}.odd",
        False,
    ),
    ("blob-entry", {"resource": "blob", "accept": ["*/*"]}, _upload, "", False),
]


@pytest.fixture
def publish(
    pds: XrpcClient, plc: XrpcClient, target: TargetUnderTest
) -> Callable[[str, list[dict[str, object]]], None]:
    """Publish the permission set ``nsid`` with these entries, under atcheck's Lexicon authority."""
    authority = lexicon_authority(pds, plc, target.handle_domain)
    return lambda nsid, entries: authority.publish_permission_set(
        nsid, [{"type": "permission", **e} for e in entries]
    )


def _fill(value: object, group: str) -> object:
    if isinstance(value, str):
        return value.replace("{group}", group)
    if isinstance(value, list):
        return [_fill(v, group) for v in value]
    return value


@pytest.mark.requirement("OAUTH-SCP-06")
@pytest.mark.parametrize("case, entry, check, target_collection, allowed", CASES, ids=[c[0] for c in CASES])
def test_a_permission_set_grants_only_what_it_may(
    oauth_server: OAuthServer,
    module_account: Account,
    publish: Callable[[str, list[dict[str, object]]], None],
    case: str,
    entry: dict[str, object],
    check: Callable[[OAuthClient, Tokens, str, str], XrpcResponse],
    target_collection: str,
    allowed: bool,
) -> None:
    """A set holding a control entry (``repo`` on its own group's ``note``) and the case's entry; a session
    including the set may use the control and the case's grant exactly when the rules allow it."""
    group = f"com.example.atcheck.p{secrets.token_hex(4)}"
    entries = [
        {"resource": "repo", "collection": [f"{group}.note"]},
        {k: _fill(v, group) for k, v in entry.items()},
    ]
    publish(f"{group}.set", entries)
    client = OAuthClient(oauth_server, loopback_client(f"atproto include:{group}.set"))
    tokens = client.login(module_account)
    expect_status(_create(client, tokens, module_account.did, f"{group}.note"), 200)
    resp = check(client, tokens, module_account.did, str(_fill(target_collection, group)))
    if allowed:
        expect_status(resp, 200)
    else:
        expect_refused(resp, f"a request outside what the set may grant ({case})", 403)
