"""Server description, account creation and legacy sessions (com.atproto.server.*).

Spec: https://atproto.com/specs/xrpc (Authentication) and the com.atproto.server Lexicons. Response bodies are
validated against the Lexicon ``output`` schemas as JSON Schema, so a missing required field, a wrong type
or a malformed DID/handle is reported with its JSON path.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    expect,
    expect_absent,
    expect_equal,
    expect_error,
    expect_ok,
    expect_valid,
    fresh_handle,
    lexicon_schema,
)


def valid_output(resp: XrpcResponse, nsid: str) -> dict[str, Any]:
    """A 200 JSON body that matches the Lexicon output schema of ``nsid``."""
    body = expect_ok(resp)
    expect_valid(body, lexicon_schema(nsid, "output"), f"the {nsid} output", resp)
    return body


def jwt_header(token: str, what: str) -> dict[str, Any]:
    """The decoded JOSE header of a compact JWT (the token's first segment)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ConformanceFailure(
            f"{what} to be a compact JWT (three dot-separated parts)", f"{len(parts)} parts"
        )
    segment = parts[0] + "=" * (-len(parts[0]) % 4)
    try:
        header = json.loads(base64.urlsafe_b64decode(segment))
    except ValueError as exc:
        raise ConformanceFailure(f"{what}'s header to be base64url JSON", str(exc)) from None
    if not isinstance(header, dict):
        raise ConformanceFailure(f"{what}'s header to be a JSON object", header)
    return header


def refresh_jwt_of(account: Account) -> str:
    """The account's refresh JWT. On a target that declares sessions, its absence is a failure, not a skip:
    the createAccount and createSession outputs both require ``refreshJwt``."""
    if account.refresh_jwt is None:
        raise ConformanceFailure("a refreshJwt for the session (required by the Lexicon output)", None)
    return account.refresh_jwt


def password_of(account: Account) -> str:
    if account.password is None:
        pytest.skip(
            "this target provisions accounts without a password, so createSession cannot be exercised"
        )
    return account.password


# -- describeServer ----------------------------------------------------------------------------------------


@pytest.mark.requirement("ACCT-16", "XRPC-HTTP-08")
@pytest.mark.needs("server.describe")
def test_describe_server_matches_its_lexicon(pds: XrpcClient) -> None:
    """Unauthenticated; {did, availableUserDomains, ...} as the Lexicon says."""
    valid_output(pds.query("com.atproto.server.describeServer"), "com.atproto.server.describeServer")


@pytest.mark.requirement("SYN-DID-07")
@pytest.mark.needs("server.describe")
def test_describe_server_names_the_service_did(pds: XrpcClient, target: TargetUnderTest) -> None:
    """``did`` is the server's service DID. A did:web is a bare host name: a port is percent-encoded
    (``did:web:localhost%3A2583``), since every further ``:`` would start a path, which atproto forbids."""
    resp = pds.query("com.atproto.server.describeServer")
    did = expect_ok(resp).get("did")
    if not isinstance(did, str):
        raise ConformanceFailure("a did string in describeServer", did, resp)
    if did.startswith("did:web:"):
        host = did[len("did:web:") :]
        expect(":" not in host, "a did:web without path segments (only a host, port as %3A)", did, resp)
    declared = target.endpoint("pds").did
    if declared:
        expect_equal(
            did, declared, "describeServer's did (the service DID the target was started with)", resp
        )


@pytest.mark.requirement("ACCT-16")
@pytest.mark.needs("server.describe", "account.create")
def test_describe_server_lists_the_domain_accounts_are_created_under(
    pds: XrpcClient, module_account: Account
) -> None:
    """A PDS that creates accounts names the handle domains it offers; our new handle is under one."""
    body = expect_ok(pds.query("com.atproto.server.describeServer"))
    domains = body.get("availableUserDomains")
    if not isinstance(domains, list) or not domains:
        raise ConformanceFailure("a non-empty availableUserDomains list", domains)
    expect(
        any(isinstance(d, str) and module_account.handle.endswith(d) for d in domains),
        f"the handle {module_account.handle}, made by this server, to be under one of availableUserDomains",
        domains,
    )


# -- createAccount -----------------------------------------------------------------------------------------


@pytest.mark.requirement("XRPC-HTTP-08", "XRPC-AUTH-01")
@pytest.mark.needs("account.create")
def test_create_account_returns_a_session_for_the_new_identity(
    pds: XrpcClient, target: TargetUnderTest
) -> None:
    handle = fresh_handle(target.handle_domain)
    body: dict[str, Any] = {
        "handle": handle,
        "password": secrets.token_urlsafe(18),
        "email": f"{handle.split('.')[0]}@example.test",
    }
    invite = target.endpoint("pds").credentials.invite_code
    if invite:
        body["inviteCode"] = invite
    resp = pds.procedure("com.atproto.server.createAccount", body)
    got = valid_output(resp, "com.atproto.server.createAccount")
    expect_equal(got["handle"], handle, "the new account's handle", resp)
    # The access token it returns is usable at once.
    session = expect_ok(pds.with_token(got["accessJwt"]).query("com.atproto.server.getSession"))
    expect_equal(session.get("did"), got["did"], "getSession's did with the token createAccount returned")


@pytest.mark.requirement("ACCT-15", "XRPC-ERR-02")
@pytest.mark.needs("account.create", "xrpc.errors")
@pytest.mark.parametrize(
    "handle",
    [
        pytest.param("under_score{domain}", id="underscore"),
        pytest.param("-leading{domain}", id="leading-hyphen"),
        pytest.param("{long}{domain}", id="label-too-long"),
        pytest.param("a..b{domain}", id="empty-label"),
        pytest.param("bad{domain}.", id="trailing-dot"),
        pytest.param("@at-sign{domain}", id="leading-at", marks=pytest.mark.requirement("SYN-HDL-08")),
        pytest.param(
            "t\u00e9st{domain}", id="unicode-not-punycode", marks=pytest.mark.requirement("SYN-HDL-09")
        ),
    ],
)
def test_create_account_refuses_invalid_handles(
    pds: XrpcClient, target: TargetUnderTest, handle: str
) -> None:
    """Handle syntax is checked at registration, before anything is created.

    The Lexicon names InvalidHandle; a server that refuses the input earlier, because ``handle`` fails the
    Lexicon's ``handle`` format, answers InvalidRequest (XRPC-HTTP-05). Both are conformant.
    """
    domain = target.handle_domain if target.handle_domain.startswith(".") else "." + target.handle_domain
    handle = handle.format(domain=domain, long="x" * 64)
    body = {"handle": handle, "password": secrets.token_urlsafe(18), "email": "bad-handle@example.test"}
    resp = pds.procedure("com.atproto.server.createAccount", body)
    expect_error(resp, 400, ("InvalidHandle", "InvalidRequest"))


@pytest.mark.requirement("ACCT-15")
@pytest.mark.needs("account.create", "xrpc.errors")
def test_create_account_refuses_a_taken_handle(pds: XrpcClient, module_account: Account) -> None:
    body = {
        "handle": module_account.handle,
        "password": secrets.token_urlsafe(18),
        "email": "taken@example.test",
    }
    expect_error(pds.procedure("com.atproto.server.createAccount", body), 400)


@pytest.mark.requirement("XRPC-ERR-02")
@pytest.mark.needs("account.create", "xrpc.errors")
def test_taken_handle_error_is_the_lexicon_name(pds: XrpcClient, module_account: Account) -> None:
    """The createAccount Lexicon declares HandleNotAvailable for this case; clients branch on the name."""
    body = {
        "handle": module_account.handle,
        "password": secrets.token_urlsafe(18),
        "email": "taken2@example.test",
    }
    expect_error(pds.procedure("com.atproto.server.createAccount", body), 400, "HandleNotAvailable")


@pytest.mark.requirement("ACCT-15", "SYN-HDL-05", "XRPC-ERR-02")
@pytest.mark.needs("account.create", "xrpc.errors")
@pytest.mark.parametrize("tld", ["local", "onion", "invalid"])
def test_create_account_refuses_reserved_tlds(pds: XrpcClient, tld: str) -> None:
    """Reserved TLDs pass handle syntax but must fail registration (no resolution is attempted for them)."""
    handle = f"atcheck{secrets.token_hex(3)}.{tld}"
    body = {"handle": handle, "password": secrets.token_urlsafe(18), "email": f"{tld}@example.test"}
    resp = pds.procedure("com.atproto.server.createAccount", body)
    expect_error(resp, 400, ("InvalidHandle", "UnsupportedDomain"))


# -- sessions ----------------------------------------------------------------------------------------------


@pytest.mark.requirement("XRPC-AUTH-01", "XRPC-HTTP-08")
@pytest.mark.needs("account.session")
@pytest.mark.parametrize("by", ["handle", "did"])
def test_create_session_with_password(pds: XrpcClient, module_account: Account, by: str) -> None:
    """createSession(identifier, password) returns accessJwt, refreshJwt, handle and did of the account."""
    identifier = module_account.handle if by == "handle" else module_account.did
    resp = pds.procedure(
        "com.atproto.server.createSession",
        {"identifier": identifier, "password": password_of(module_account)},
    )
    got = valid_output(resp, "com.atproto.server.createSession")
    expect_equal(got["did"], module_account.did, "the session's did", resp)
    expect_equal(got["handle"], module_account.handle, "the session's handle", resp)


@pytest.mark.requirement("XRPC-ERR-03")
@pytest.mark.needs("account.session", "xrpc.errors")
def test_create_session_with_a_wrong_password_is_refused(pds: XrpcClient, module_account: Account) -> None:
    password_of(module_account)
    resp = pds.procedure(
        "com.atproto.server.createSession",
        {"identifier": module_account.handle, "password": "wrong-" + secrets.token_hex(8)},
    )
    expect_error(resp, (400, 401))


@pytest.mark.requirement("ACCT-14", "XRPC-HTTP-08")
@pytest.mark.needs("account.session")
def test_get_session_describes_the_token_owner(module_account: Account) -> None:
    resp = module_account.client.query("com.atproto.server.getSession")
    got = valid_output(resp, "com.atproto.server.getSession")
    expect_equal(got["did"], module_account.did, "getSession's did", resp)
    expect_equal(got["handle"], module_account.handle, "getSession's handle", resp)
    if "active" in got:
        expect_equal(got["active"], True, "getSession's active flag for a fresh account", resp)
        expect("status" not in got, "no status for an active account", got.get("status"), resp)


@pytest.mark.requirement("XRPC-AUTH-02", "XRPC-HTTP-08")
@pytest.mark.needs("account.session")
def test_refresh_session_gives_new_working_tokens(pds: XrpcClient, account: Account) -> None:
    """refreshSession takes the refresh JWT and returns a new access token that works."""
    resp = pds.with_token(refresh_jwt_of(account)).procedure("com.atproto.server.refreshSession")
    got = valid_output(resp, "com.atproto.server.refreshSession")
    expect_equal(got["did"], account.did, "refreshSession's did", resp)
    session = pds.with_token(got["accessJwt"]).query("com.atproto.server.getSession")
    expect_equal(
        expect_ok(session).get("did"), account.did, "getSession's did with the refreshed token", session
    )


@pytest.mark.requirement("XRPC-AUTH-06")
@pytest.mark.needs("account.session", "xrpc.errors")
def test_refresh_session_refuses_an_access_token(pds: XrpcClient, module_account: Account) -> None:
    resp = pds.with_token(module_account.access_jwt).procedure("com.atproto.server.refreshSession")
    expect_error(resp, (400, 401))


@pytest.mark.requirement("XRPC-AUTH-06")
@pytest.mark.needs("account.session", "xrpc.errors")
def test_a_refresh_token_is_not_an_access_token(pds: XrpcClient, account: Account) -> None:
    resp = pds.with_token(refresh_jwt_of(account)).query("com.atproto.server.getSession")
    expect_error(resp, (400, 401))


@pytest.mark.requirement("XRPC-AUTH-06")
@pytest.mark.needs("account.session", "repo.write", "repo.read", "xrpc.errors")
def test_a_refresh_token_cannot_write(pds: XrpcClient, module_account: Account) -> None:
    """Only refreshSession takes the refresh token: a write presented with it is refused, nothing stored.

    Needs sessions: on a target without them (arroba), the "refresh token" is whatever its provisioning
    handed out, not a session's refresh JWT, and there is no domain separation to judge.
    """
    refresh_jwt = refresh_jwt_of(module_account)
    collection = "com.example.atcheck.auth"
    rkey = f"refresh{secrets.token_hex(4)}"
    record = {"$type": collection, "text": "written with a refresh token"}
    body = {"repo": module_account.did, "collection": collection, "rkey": rkey, "record": record}
    expect_error(
        pds.with_token(refresh_jwt).procedure("com.atproto.repo.createRecord", body),
        (400, 401),
    )
    expect_absent(module_account, rkey, collection=collection)


@pytest.mark.requirement("XRPC-AUTH-03")
@pytest.mark.needs("account.session")
def test_tokens_are_domain_separated_by_typ(module_account: Account) -> None:
    """Access JWTs carry ``typ: at+jwt`` and refresh JWTs ``typ: refresh+jwt`` in their header."""
    expect_equal(
        jwt_header(module_account.access_jwt, "the access token").get("typ"), "at+jwt", "the access JWT typ"
    )
    header = jwt_header(refresh_jwt_of(module_account), "the refresh token")
    expect_equal(header.get("typ"), "refresh+jwt", "the refresh JWT typ")
