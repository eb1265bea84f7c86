"""Scopes enforced at the PDS as resource server: ``atproto`` alone grants no writes, ``transition:generic``
grants app-password-level access without account management, ``transition:email`` the email, and granular
``repo:``/``blob:`` permissions limit writes and uploads (spec §Authorization Scopes, permission spec).
"""

from __future__ import annotations

import pytest

from atcheck.suite import Account, XrpcResponse, expect, expect_status
from atcheck.suite.oauth import OAuthClient, OAuthServer, Tokens, loopback_client
from atcheck.suite.oauth_checks import (
    expect_refused,
    malformed_glob_grants_nothing,
    rpc_permission_limits_service_auth,
    rpc_scope,
)

pytestmark = pytest.mark.needs("oauth", "account.create")

ALLOWED = "com.example.atcheck.allowed"
OTHER = "com.example.atcheck.other"
#: A 1x1 PNG: the bytes of the image/png control upload.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _session(server: OAuthServer, account: Account, scope: str) -> tuple[OAuthClient, Tokens]:
    client = OAuthClient(server, loopback_client(scope))
    return client, client.login(account)


def _create(client: OAuthClient, tokens: Tokens, did: str, collection: str) -> XrpcResponse:
    record = {"$type": collection, "text": "written through OAuth", "createdAt": "2026-01-01T00:00:00.000Z"}
    return client.resource(
        "POST",
        "com.atproto.repo.createRecord",
        tokens.access_token,
        json_body={"repo": did, "collection": collection, "record": record},
    )


@pytest.mark.requirement("OAUTH-SCP-01", "OAUTH-SCP-02")
def test_atproto_alone_cannot_write(oauth_server: OAuthServer, module_account: Account) -> None:
    client, tokens = _session(oauth_server, module_account, "atproto")
    resp = _create(client, tokens, module_account.did, ALLOWED)
    expect_refused(resp, "a record write with a token scoped to atproto only", 401, 403)


@pytest.mark.requirement("OAUTH-SCP-02")
def test_transition_generic_can_write(oauth_server: OAuthServer, module_account: Account) -> None:
    client, tokens = _session(oauth_server, module_account, "atproto transition:generic")
    resp = _create(client, tokens, module_account.did, ALLOWED)
    expect_status(resp, 200)


@pytest.mark.requirement("OAUTH-SCP-02")
def test_transition_generic_cannot_manage_the_account(oauth_server: OAuthServer, account: Account) -> None:
    """Account management (here: deactivation) is outside ``transition:generic``; a fresh account, in case
    the server wrongly allows it."""
    client, tokens = _session(oauth_server, account, "atproto transition:generic")
    resp = client.resource("POST", "com.atproto.server.deactivateAccount", tokens.access_token, json_body={})
    expect_refused(resp, "deactivateAccount with a transition:generic token", 400, 401, 403)


@pytest.mark.requirement("OAUTH-SCP-02")
@pytest.mark.parametrize(
    "scope, shown",
    [("atproto transition:generic", False), ("atproto transition:generic transition:email", True)],
    ids=["without-email-scope", "with-email-scope"],
)
def test_email_only_with_transition_email(
    oauth_server: OAuthServer, module_account: Account, scope: str, shown: bool
) -> None:
    client, tokens = _session(oauth_server, module_account, scope)
    resp = client.resource("GET", "com.atproto.server.getSession", tokens.access_token)
    expect_status(resp, 200)
    has_email = "email" in resp.json()
    expect(has_email == shown, f"getSession {'with' if shown else 'without'} the email", resp.json(), resp)


@pytest.mark.requirement("OAUTH-SCP-03")
def test_repo_permission_limits_writes_to_its_collection(
    oauth_server: OAuthServer, module_account: Account
) -> None:
    client, tokens = _session(oauth_server, module_account, f"atproto repo:{ALLOWED}?action=create")
    allowed = _create(client, tokens, module_account.did, ALLOWED)
    expect_status(allowed, 200)
    other = _create(client, tokens, module_account.did, OTHER)
    expect_refused(other, f"a write to {OTHER} with a token granting repo:{ALLOWED}", 403)


@pytest.mark.requirement("OAUTH-SCP-03")
def test_blob_permission_limits_uploads_by_type(oauth_server: OAuthServer, module_account: Account) -> None:
    """``blob:image/*`` allows an image/png upload (the control) and refuses a text/plain one."""
    client, tokens = _session(oauth_server, module_account, "atproto blob:image/*")

    def upload(mime: str) -> XrpcResponse:
        return client.resource(
            "POST", "com.atproto.repo.uploadBlob", tokens.access_token, data=PNG, content_type=mime
        )

    expect_status(upload("image/png"), 200)
    expect_refused(upload("text/plain"), "a text/plain upload with a token granting blob:image/*", 403)


#: The service an ``rpc:`` permission names (``aud``: a DID and a service fragment) and two methods; nothing
#: is proxied here, so the service need not exist: getServiceAuth only signs a token for it.
RPC_AUD = "did:web:svc.atcheck.test#atcheck_svc"
RPC_OTHER_AUD = "did:web:other.atcheck.test#atcheck_svc"
RPC_LXM = "com.example.atcheck.ping"
RPC_OTHER_LXM = "com.example.atcheck.pong"


@pytest.mark.requirement("XRPC-PROXY-05", "OAUTH-SCP-03")
def test_rpc_permission_limits_get_service_auth(oauth_server: OAuthServer, module_account: Account) -> None:
    """permission §rpc: "The ability to make authenticated API requests to remote services. This includes
    both requesting service auth tokens (JWTs) using the `com.atproto.server.getServiceAuth` endpoint on
    the PDS, and requests proxied via the PDS. The permission is parameterized by the remote endpoint
    (`lxm` ...) and the identity of the remote service (the audience, `aud`)."

    A token granting ``rpc:<lxm>?aud=<aud>`` gets a service-auth token for that pair (the control), and is
    refused with 403 for another method at that service and for that method at another service."""
    client, tokens = _session(oauth_server, module_account, f"atproto {rpc_scope(RPC_LXM, RPC_AUD)}")
    rpc_permission_limits_service_auth(client, tokens, (RPC_LXM, RPC_AUD), RPC_OTHER_AUD, RPC_OTHER_LXM)


#: NSID patterns that break the glob rule (nsid §Syntax Variations), each one that a sloppy matcher (a
#: prefix or shell-style match) would read as covering ``ALLOWED``.
BAD_GLOBS = [
    pytest.param("com.example.atcheck.al*", id="partial-segment"),
    pytest.param("*.example.atcheck.allowed", id="star-first"),
    pytest.param("com.example.*.allowed", id="star-in-the-middle"),
    pytest.param("com.example.atcheck.**", id="two-stars"),
    pytest.param("com.example.atcheck.allowe?", id="other-wildcard"),
]


@pytest.mark.requirement("SYN-NSID-05")
def test_the_bare_star_glob_covers_every_collection(
    oauth_server: OAuthServer, module_account: Account
) -> None:
    """nsid §Syntax Variations: "A free-standing `*` would match all NSIDs from all authorities." The bare
    glob, the one permission §repo allows ("Wildcard (`*`) is allowed in scope string syntax, and grants
    access to all records"), lets a token granting ``repo:*`` write to any collection (the control of the
    malformed globs below)."""
    client, tokens = _session(oauth_server, module_account, "atproto repo:*")
    expect_status(_create(client, tokens, module_account.did, ALLOWED), 200)


@pytest.mark.requirement("SYN-NSID-05")
@pytest.mark.parametrize("glob", BAD_GLOBS)
def test_a_malformed_nsid_glob_grants_nothing(
    oauth_server: OAuthServer, module_account: Account, glob: str
) -> None:
    """nsid §Syntax Variations: "Currently, there may be only a single start character; it must be the last
    character; and it must be at a segment boundary (no partial matching of segment names). This means the
    start character must be proceeded by a period, or be a bare star matching all NSIDs."

    ``repo:<glob>`` with a pattern breaking that rule is not a glob: the authorization request is refused,
    or the token it gives cannot write to a collection the pattern would match if read loosely (403)."""
    malformed_glob_grants_nothing(oauth_server, module_account, glob, ALLOWED)
