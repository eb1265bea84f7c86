"""XRPC over HTTP: the error envelope, status codes, HTTP methods, content types, auth and parameter checks.

Spec: https://atproto.com/specs/xrpc (Lexicon HTTP Endpoints, Error Responses, Summary of HTTP Status Codes).
Each test judges one requirement: status tests check the status (and that an error body came back); the
envelope itself (``application/json`` ``{"error": <ASCII token>, "message"?: str}``) is judged once per kind
of error path by ``test_error_responses_use_the_envelope``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    ParamValue,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    document_entry,
    expect,
    expect_absent,
    expect_content_type,
    expect_equal,
    expect_error,
    expect_ok,
    new_rkey,
    note,
    read_record,
    write_record,
    xrpc_origin,
)
from atcheck.suite.moderation import admin_headers
from atcheck.suite.oracle import parse_cid

UNKNOWN_NSID = "com.example.atcheck.doesNotExist"
COLLECTION = "com.example.atcheck.xrpc"
DidDocument = Callable[[str], dict[str, Any]]
_ERROR_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no whitespace


def expect_envelope(
    resp: XrpcResponse, status: int | tuple[int, ...], error: str | tuple[str, ...] | None = None
) -> dict[str, Any]:
    """An XRPC error in full: status, ``application/json``, ``{error, message?}``, error an ASCII token.

    Tests that judge a status use :func:`atcheck.checks.expect_error` instead (status first); the envelope
    itself is judged once per kind of error path by ``test_error_responses_use_the_envelope``.
    """
    body = expect_error(resp, status, error)
    expect_content_type(resp, "application/json")
    name = body["error"]
    expect(
        bool(_ERROR_TOKEN.fullmatch(name)),
        "the error name to be an ASCII constant without whitespace",
        name,
        resp,
    )
    return body


# -- unknown methods ---------------------------------------------------------------------------------------


def expect_an_error(resp: XrpcResponse) -> None:
    """Not a success. Which error is the server's choice: 404 (unsupported) or 501 (known, not implemented)
    for a method it does not serve, or, for a PDS that forwards it (xrpc §Service Proxying), whatever the
    upstream answers or an error for a missing upstream (the reference: 400 "No service configured")."""
    expect(
        resp.status >= 400, "an error status (4xx or 5xx) for a method nobody implements", resp.status, resp
    )


@pytest.mark.requirement("XRPC-HTTP-03")
@pytest.mark.needs("xrpc.errors")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_method_is_an_error(pds: XrpcClient, method: str) -> None:
    """An NSID the server does not implement is never served as a success. The spec names no single status
    (see :func:`expect_an_error`); the envelope is judged by ``test_error_responses_use_the_envelope``."""
    expect_an_error(_call_unknown(pds, method))


@pytest.mark.requirement("XRPC-HTTP-03")
@pytest.mark.needs("xrpc.errors")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_method_is_an_error_when_authenticated(module_account: Account, method: str) -> None:
    """The same with a valid session, where a PDS that forwards unknown NSIDs would do so."""
    expect_an_error(_call_unknown(module_account.client, method))


def _call_unknown(client: XrpcClient, method: str) -> XrpcResponse:
    body = b"{}" if method == "POST" else None
    headers = {"Content-Type": "application/json"} if method == "POST" else None
    return client.request(method, f"/xrpc/{UNKNOWN_NSID}", data=body, headers=headers)


# -- HTTP methods ------------------------------------------------------------------------------------------


@pytest.mark.requirement("XRPC-HTTP-09")
@pytest.mark.needs("xrpc.errors", "server.describe")
def test_post_to_a_query_is_refused(pds: XrpcClient) -> None:
    """describeServer is a query: a POST is refused. An interop note (MAY): the spec says queries are GET
    and procedures POST, and nothing about other methods."""
    resp = pds.request(
        "POST",
        "/xrpc/com.atproto.server.describeServer",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    expect_error(resp, (400, 404, 405))


@pytest.mark.requirement("XRPC-HTTP-02")
@pytest.mark.needs("xrpc.errors", "account.session")
def test_get_to_a_procedure_is_refused(pds: XrpcClient, account: Account) -> None:
    """refreshSession is a procedure that needs no input: served on GET it would answer 200 with new tokens
    and spend the refresh token (queries "should not mutate resource state"). Refused, the refresh token is
    untouched, so a POST with it still works."""
    refresh = account.refresh_jwt
    if refresh is None:
        raise ConformanceFailure("a refreshJwt for the session (required by the Lexicon output)", None)
    resp = pds.with_token(refresh).request("GET", "/xrpc/com.atproto.server.refreshSession")
    expect_error(resp, (400, 404, 405))
    after = pds.with_token(refresh).procedure("com.atproto.server.refreshSession")
    expect_ok(after)


# -- content types -----------------------------------------------------------------------------------------


@pytest.mark.requirement("XRPC-HTTP-07")
@pytest.mark.needs("server.describe")
def test_json_output_is_served_as_application_json(pds: XrpcClient) -> None:
    resp = pds.query("com.atproto.server.describeServer")
    expect_ok(resp)  # checks the status, Content-Type application/json and a JSON object body


@pytest.mark.requirement("XRPC-HTTP-06")
@pytest.mark.needs("xrpc.errors", "repo.write", "repo.read")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_with_the_wrong_content_type_is_refused(module_account: Account, content_type: str) -> None:
    """createRecord's input encoding is application/json; a JSON body labelled otherwise is refused."""
    rkey = f"ct{secrets.token_hex(4)}"
    body = {
        "repo": module_account.did,
        "collection": COLLECTION,
        "rkey": rkey,
        "record": note("content type", COLLECTION),
    }
    resp = module_account.client.procedure(
        "com.atproto.repo.createRecord", data=json.dumps(body).encode(), content_type=content_type
    )
    expect_error(resp, (400, 415))
    expect_absent(module_account, rkey, collection=COLLECTION)


@pytest.mark.requirement("XRPC-ERR-06")
@pytest.mark.needs("xrpc.errors", "repo.write", "repo.read")
def test_malformed_json_body_is_400(module_account: Account) -> None:
    """A body that is not JSON is the client's error: 400, not a 500 ("Client may retry")."""
    resp = module_account.client.procedure(
        "com.atproto.repo.createRecord",
        data=b'{"repo": "' + module_account.did.encode() + b'", ',
        content_type="application/json",
    )
    expect_error(resp, 400)


@pytest.mark.requirement("XRPC-HTTP-05")
@pytest.mark.needs("xrpc.errors", "repo.write", "repo.read")
def test_input_missing_a_required_field_is_400_invalid_request(module_account: Account) -> None:
    """createRecord without ``record`` (required by its Lexicon) is an invalid request; nothing is written."""
    rkey = f"nr{secrets.token_hex(4)}"
    resp = module_account.client.procedure(
        "com.atproto.repo.createRecord", {"repo": module_account.did, "collection": COLLECTION, "rkey": rkey}
    )
    expect_error(resp, 400, "InvalidRequest")
    expect_absent(module_account, rkey, collection=COLLECTION)


# -- authentication ----------------------------------------------------------------------------------------


@pytest.mark.requirement("XRPC-ERR-03")
@pytest.mark.needs("xrpc.errors", "repo.write", "repo.read")
def test_write_without_credentials_is_401(pds: XrpcClient, module_account: Account) -> None:
    """An endpoint that needs auth, called with none: 401 ("Authentication is required for this endpoint")."""
    rkey = f"na{secrets.token_hex(4)}"
    body = {
        "repo": module_account.did,
        "collection": COLLECTION,
        "rkey": rkey,
        "record": note("no auth", COLLECTION),
    }
    resp = pds.procedure("com.atproto.repo.createRecord", body)
    expect_error(resp, 401)
    expect_absent(module_account, rkey, collection=COLLECTION)


@pytest.mark.requirement("XRPC-ERR-05")
@pytest.mark.needs("xrpc.errors", "repo.write")
def test_401_carries_www_authenticate(pds: XrpcClient, module_account: Account) -> None:
    """Spec, 401 Unauthorized: "There should be a WWW-Authenticate header". Judged on a 401 only: whether a
    missing token gets a 401 at all is ``test_write_without_credentials_is_401``'s verdict, not this one's."""
    body = {"repo": module_account.did, "collection": COLLECTION, "record": note("no auth", COLLECTION)}
    resp = pds.procedure("com.atproto.repo.createRecord", body)
    if resp.status != 401:
        pytest.skip(f"the server answered {resp.status}, not 401: no 401 whose header could be judged")
    expect(
        "www-authenticate" in resp.headers,
        "a WWW-Authenticate header on the 401",
        dict(resp.headers),
        resp,
    )


@pytest.mark.requirement("XRPC-ERR-03")
@pytest.mark.needs("xrpc.errors", "repo.write", "repo.read")
@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        # A syntactically fine JWT (alg none) that no server issued.
        "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJkaWQ6cGxjOmF0Y2hlY2siLCJzY29wZSI6ImNvbS5hdHByb3RvLmFjY2VzcyJ9.",
    ],
    ids=["garbage", "unsigned-jwt"],
)
def test_write_with_an_invalid_token_is_refused(pds: XrpcClient, module_account: Account, token: str) -> None:
    """A bad bearer token is a refused request (400 invalid, or 401), never processed and never a 5xx.

    The spec fixes 401 for "authentication is required" and 400 for an invalid request; it does not say
    which of the two a present-but-invalid token is, so both pass.
    """
    rkey = f"bt{secrets.token_hex(4)}"
    body = {
        "repo": module_account.did,
        "collection": COLLECTION,
        "rkey": rkey,
        "record": note("bad token", COLLECTION),
    }
    resp = pds.with_token(token).procedure("com.atproto.repo.createRecord", body)
    expect_error(resp, (400, 401))
    expect_absent(module_account, rkey, collection=COLLECTION)


@pytest.mark.requirement("XRPC-ERR-03")
@pytest.mark.needs("xrpc.errors", "account.session")
def test_get_session_without_credentials_is_401(pds: XrpcClient) -> None:
    expect_error(pds.query("com.atproto.server.getSession"), 401)


# -- parameters --------------------------------------------------------------------------------------------

_BAD_LIST_PARAMS: dict[str, dict[str, ParamValue]] = {
    "limit-0": {"limit": 0},
    "limit-101": {"limit": 101},
    "limit-not-an-integer": {"limit": "ten"},
    "reverse-not-a-boolean": {"reverse": "sometimes"},
    "collection-missing": {"collection": None},
    "collection-not-an-nsid": {"collection": "not an nsid"},
    "repo-missing": {"repo": None},
    "repo-not-an-identifier": {"repo": "not a did or handle"},
}


@pytest.mark.requirement("XRPC-HTTP-05")
@pytest.mark.needs("xrpc.errors", "repo.read")
@pytest.mark.parametrize("case", sorted(_BAD_LIST_PARAMS))
def test_params_violating_the_lexicon_are_400_invalid_request(module_account: Account, case: str) -> None:
    """listRecords params: limit 1..100, reverse a boolean, repo an at-identifier, collection an NSID."""
    params: dict[str, ParamValue] = {"repo": module_account.did, "collection": COLLECTION}
    params.update(_BAD_LIST_PARAMS[case])
    resp = module_account.client.query("com.atproto.repo.listRecords", params)
    expect_error(resp, 400, "InvalidRequest")


# -- the envelope, on every kind of error path ------------------------------------------------------------


def _error_request(case: str, pds: XrpcClient, account: Account) -> XrpcResponse:
    """One request per kind of error path; each must fail on any conformant server."""
    record = {"repo": account.did, "collection": COLLECTION, "record": note("envelope", COLLECTION)}
    if case == "unknown-method":
        return pds.query(UNKNOWN_NSID)
    if case == "invalid-params":
        return account.client.query(
            "com.atproto.repo.listRecords", {"repo": account.did, "collection": COLLECTION, "limit": 0}
        )
    if case == "no-credentials":
        return pds.procedure("com.atproto.repo.createRecord", record)
    if case == "invalid-token":
        return pds.with_token("not-a-jwt").procedure("com.atproto.repo.createRecord", record)
    if case == "malformed-json":
        return account.client.procedure(
            "com.atproto.repo.createRecord", data=b'{"repo": ', content_type="application/json"
        )
    if case == "record-not-found":
        return read_record(account, new_rkey("none"), collection=COLLECTION)
    raise ValueError(case)


ERROR_PATHS = [
    "unknown-method",
    "invalid-params",
    "no-credentials",
    "invalid-token",
    "malformed-json",
    "record-not-found",
]


@pytest.mark.requirement("XRPC-ERR-01")
@pytest.mark.needs("xrpc.errors", "repo.write", "repo.read")
@pytest.mark.parametrize("case", ERROR_PATHS)
def test_error_responses_use_the_envelope(pds: XrpcClient, module_account: Account, case: str) -> None:
    """Whatever the status, an error is ``application/json`` ``{"error": <ASCII token>, "message"?: str}``."""
    resp = _error_request(case, pds, module_account)
    expect(resp.status >= 400, f"an error status for the {case} request", resp.status, resp)
    expect_envelope(resp, resp.status)


ADMIN_STATUS = "com.atproto.admin.getSubjectStatus"


@pytest.mark.requirement("XRPC-AUTH-05")
@pytest.mark.needs("admin")
def test_admin_endpoints_take_http_basic_admin_auth(
    pds: XrpcClient, module_account: Account, target: TargetUnderTest
) -> None:
    """``com.atproto.admin.*`` take HTTP Basic ``admin:<token>``: the admin password is accepted, while the
    account's own bearer token, a wrong password and no credentials are not."""
    params = {"did": module_account.did}
    ok = pds.query(ADMIN_STATUS, params, headers=admin_headers(target))
    got = expect_ok(ok)
    subject = got.get("subject") if isinstance(got, dict) else None
    expect_equal(
        subject.get("did") if isinstance(subject, dict) else None, module_account.did, "the subject's did", ok
    )
    wrong = "Basic " + base64.b64encode(b"admin:not-the-password-" + secrets.token_hex(4).encode()).decode()
    refusals = {
        "the account's bearer token": module_account.client.query(ADMIN_STATUS, params),
        "a wrong admin password": pds.query(ADMIN_STATUS, params, headers={"authorization": wrong}),
        "no credentials": pds.query(ADMIN_STATUS, params),
    }
    for what, resp in refusals.items():
        expect(resp.status in (401, 403), f"{ADMIN_STATUS} with {what} refused (401/403)", resp.status, resp)


@pytest.mark.requirement("XRPC-HTTP-04")
@pytest.mark.needs("repo.write", "sync.get-repo")
def test_array_params_are_repeated_query_keys(pds: XrpcClient, module_account: Account) -> None:
    """An array parameter is the key repeated (``cids=A&cids=B``): getBlocks answers with both blocks.

    Only what the array rule decides is judged: the binary CID of each block asked for is in the answer
    (the CAR's roots and Content-Type are other rules, checked by the sync suite)."""
    first = write_record(module_account, note("first", COLLECTION), rkey=new_rkey())
    second = write_record(module_account, note("second", COLLECTION), rkey=new_rkey())
    cids = [first.cid, second.cid]
    resp = pds.query("com.atproto.sync.getBlocks", {"did": module_account.did, "cids": cids})
    expect(resp.status == 200, "getBlocks with two repeated cids keys answered (200)", resp.status, resp)
    missing = [cid for cid in cids if parse_cid(cid).raw not in resp.content]
    expect(not missing, f"both blocks asked for by repeated cids keys: {cids}", f"missing {missing}", resp)


@pytest.mark.requirement("XRPC-HTTP-01")
@pytest.mark.needs("identity.plc", "sync.latest-commit")
def test_xrpc_answers_at_the_root_of_the_did_documents_pds_endpoint(
    module_account: Account, did_document: DidDocument, target: TargetUnderTest
) -> None:
    """xrpc §Lexicon HTTP Endpoints: "The HTTP request path starts with `/xrpc/`, followed by an NSID.
    Paths must always be top-level, not below a prefix."

    What the network knows of the PDS is the ``#atproto_pds`` endpoint of the account's DID document: it
    must be a bare origin, and the account's repo must answer at that origin's ``/xrpc/`` (getLatestCommit,
    a method every PDS serves without auth). A PDS published with a path, or serving XRPC only under one,
    fails here.
    """
    did = module_account.did
    service = document_entry(did_document(did), "service", did, "atproto_pds")
    origin = xrpc_origin(service, target.endpoint("pds").url)
    root = XrpcClient(origin, recorder=target.recorder)
    try:
        resp = root.query("com.atproto.sync.getLatestCommit", {"did": did})
    finally:
        root.close()
    body = expect_ok(resp)
    expect(
        isinstance(body, dict) and isinstance(body.get("cid"), str),
        f"getLatestCommit of {did} answered at {origin}/xrpc/ (a JSON object with a cid)",
        body,
        resp,
    )
