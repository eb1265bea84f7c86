"""Account migration: an account moves between two PDSes by the official flow, and nothing is lost.

atcheck drives every step itself (:mod:`atcheck.suite.migration`): service auth from the old PDS,
createAccount with the existing DID on the new one, importRepo, missing blobs, preferences, the PLC
operation signed by the old PDS and submitted by the new one, activation, and deactivation of the old
account. The pair is the target and a second instance of it on the run's PLC (``<target>#2``); a move to
another implementation of the run is checked by ``test_an_account_moves_to_another_implementation``.

Spec: account migration guide (atproto.com/guides/account-migration), xrpc §Inter-Service Authentication,
repository and sync specs, the ``com.atproto.server``/``repo``/``identity`` Lexicons.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    Frame,
    TargetUnderTest,
    XrpcClient,
    XrpcResponse,
    atproto_key,
    did_document,
    document_entry,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_valid,
    latest_commit,
    lexicon_schema,
    note,
    oracle_verdict,
    subscribe,
    write_record,
)
from atcheck.suite.migration import STEPS, Migration, MigrationStepFailed, migrate, scrambled_car
from atcheck.suite.oracle import RAW, PrivateKey, PublicKey, compute_cid, parse_jwt, verify_repo_car

COLLECTION = "com.example.atcheck.moved"
RECORD_COUNT = 12
CAR = "application/vnd.ipld.car"
CREATE_ACCOUNT = "com.atproto.server.createAccount"
NEEDS = ("account.create", "account.session", "repo.write", "sync.get-repo", "identity.plc")

# In the report's interop matrix: the target gives the account, the twin (or a peer) takes it.
pytestmark = pytest.mark.interop("migration", producer="target", consumer="twin")


@dataclass
class Moved:
    """An account as it was on the old PDS, and the migration that moved it to the twin."""

    old: Account
    new: Account
    migration: Migration
    records: dict[str, str]  # "collection/rkey" -> record CID, as exported by the old PDS before the move
    old_rev: str
    blob: bytes
    blob_cid: str
    source: TargetUnderTest
    dest: TargetUnderTest
    old_events: list[Frame]  # what the old PDS's firehose said about the account during the move
    new_events: list[Frame]  # and the new PDS's


def upload(account: Account, data: bytes, mime: str = "application/octet-stream") -> dict[str, Any]:
    """uploadBlob; returns the blob ref of its answer."""
    resp = account.client.procedure("com.atproto.repo.uploadBlob", data=data, content_type=mime)
    blob = expect_ok(resp).get("blob")
    if not isinstance(blob, dict):
        raise ConformanceFailure("a blob ref in uploadBlob's answer", resp.text[:200], resp)
    return blob


def exported_records(pds: XrpcClient, did: str, key: PublicKey | None) -> tuple[dict[str, str], str]:
    """(record path -> CID, commit rev) of the repo ``pds`` exports for ``did``, checked by the oracle."""
    resp = pds.query("com.atproto.sync.getRepo", {"did": did})
    expect_ok_car(resp)
    with oracle_verdict("a repository export that passes every oracle check", resp):
        repo = verify_repo_car(resp.content, did=did, signing_key=key)
    return {path: str(cid) for path, (cid, _value) in repo.records.items()}, repo.commit.rev


def expect_ok_car(resp: XrpcResponse) -> None:
    if resp.status != 200:
        expect_ok(resp)  # raises, describing the answer


@pytest.fixture(scope="module")
def moved(account_factory: Any, target: TargetUnderTest, twin: TargetUnderTest) -> Moved:
    """A fresh account with records and a blob on the target, moved to the target's second instance."""
    if not all(target.supports(c) for c in NEEDS):
        pytest.skip(f"target {target.name} does not declare every capability of a migration: {NEEDS}")
    return move_account(account_factory(), target, twin)


def move_account(old: Account, source: TargetUnderTest, dest: TargetUnderTest) -> Moved:
    """Give ``old`` records and a referenced blob on ``source``, then move it to ``dest``, listening to both
    firehoses. (A plain function, so the harness's self-tests can run it against a faulty destination.)"""
    blob = secrets.token_bytes(2048)
    ref = upload(old, blob)
    holder = {"$type": COLLECTION, "image": ref, "createdAt": "2026-01-01T00:00:00.000Z"}
    write_record(old, holder, rkey="blob")
    for i in range(RECORD_COUNT):
        write_record(old, note(f"moved {i}", COLLECTION), rkey=f"m{i:02d}")
    key = atproto_key(did_document(source.client("plc"), old.did), old.did)
    records, rev = exported_records(source.client(), old.did, key)
    # Live subscriptions opened before the move: each PDS's events about the account during it.
    with (
        subscribe(source.endpoint("pds").url, label="old PDS") as old_stream,
        subscribe(dest.endpoint("pds").url, label="new PDS") as new_stream,
    ):
        migration = migrate(old, source, dest)
        old_events = [f for f in old_stream.drain(quiet=1.5, limit=15) if f.did == old.did]
        new_events = [f for f in new_stream.drain(quiet=1.5, limit=15) if f.did == old.did]
    assert migration.new is not None
    blob_cid = str(compute_cid(blob, RAW))
    return Moved(
        old, migration.new, migration, records, rev, blob, blob_cid, source, dest, old_events, new_events
    )


def events(frames: list[Frame]) -> list[str]:
    """A compact account of a stream's events, for failure messages."""
    return [f"{f.t} {f.json() if f.t != '#commit' else f.body.get('rev')}" for f in frames]


def status_of(pds: XrpcClient, did: str) -> tuple[dict[str, Any], XrpcResponse]:
    resp = pds.query("com.atproto.sync.getRepoStatus", {"did": did})
    return expect_ok(resp), resp


# -- the move ------------------------------------------------------------------------------------------------


@pytest.mark.requirement("MIG-03")
@pytest.mark.needs(*NEEDS)
def test_every_record_arrives_with_its_cid(moved: Moved) -> None:
    """The new PDS's export holds exactly the records the old one exported, each under the same CID. (Whose
    key signed the commit is the next test's business.)"""
    records, _rev = exported_records(moved.dest.client(), moved.new.did, None)
    expect_equal(records, moved.records, "the records of the new PDS's export (path -> CID)")


@pytest.mark.requirement("MIG-12")
@pytest.mark.needs(*NEEDS)
def test_the_first_rev_on_the_new_pds_is_above_the_old_one(moved: Moved) -> None:
    head = latest_commit(moved.dest.client(), moved.new.did)
    above = f"a rev above the old PDS's last rev {moved.old_rev}"
    expect(head.rev > moved.old_rev, above, head.rev, head.response)


@pytest.mark.requirement("MIG-10")
@pytest.mark.needs(*NEEDS)
def test_after_activation_the_repo_is_signed_with_the_new_key(moved: Moved, plc: XrpcClient) -> None:
    """account §PDS Account Migration: the migration ends with "emitting a #sync and/or #commit event from the
    new PDS, signed by the new atproto signing key, with a higher commit rev", and an account "has effectively
    been migrated" when its host serves "a functioning repository (with valid signature and commit rev)". So
    once activated, the new PDS's repo verifies with the key the DID document now names."""
    key = atproto_key(did_document(plc, moved.new.did), moved.new.did)
    exported_records(moved.dest.client(), moved.new.did, key)  # the signature check is the oracle's


@pytest.mark.requirement("MIG-01", "MIG-07")
@pytest.mark.needs(*NEEDS)
def test_the_did_document_names_the_new_pds_and_its_key(moved: Moved, plc: XrpcClient) -> None:
    """After the PLC operation the DID document holds what the new PDS recommended: its endpoint, its key."""
    recommended = moved.migration.recommended["credentials"]
    resp = moved.migration.answers["recommended-credentials"]
    services = recommended.get("services")
    methods = recommended.get("verificationMethods")
    expect(
        isinstance(services, dict) and "atproto_pds" in services, "services.atproto_pds", recommended, resp
    )
    expect(
        isinstance(methods, dict) and "atproto" in methods, "verificationMethods.atproto", recommended, resp
    )
    endpoint = str(services["atproto_pds"].get("endpoint", ""))
    port = moved.dest.endpoint("pds").url.rsplit(":", 1)[-1]
    expect(
        endpoint.rstrip("/").endswith(f":{port}"),
        f"the recommended endpoint to be the new PDS (port {port})",
        endpoint,
        resp,
    )
    doc = did_document(plc, moved.new.did)
    pds = document_entry(doc, "service", moved.new.did, "atproto_pds")
    expect_equal(pds.get("serviceEndpoint"), endpoint, "the DID document's #atproto_pds endpoint")
    key = atproto_key(doc, moved.new.did)
    expect_equal(f"did:key:{key.multikey}", methods["atproto"], "the DID document's #atproto key (did:key)")


@pytest.mark.requirement("MIG-05")
@pytest.mark.needs(*NEEDS)
def test_every_blob_arrives_with_the_same_bytes(moved: Moved) -> None:
    """The blob a record references is listed missing after import, moves, and is served with its bytes."""
    expect(
        moved.blob_cid in moved.migration.blobs_moved,
        f"listMissingBlobs to list the referenced blob {moved.blob_cid}",
        moved.migration.blobs_moved,
        moved.migration.answers.get("blobs"),
    )
    resp = moved.new.client.query("com.atproto.repo.listMissingBlobs", {"limit": 100})
    missing = [b.get("cid") for b in expect_ok(resp).get("blobs", [])]
    expect_equal(missing, [], "listMissingBlobs after every blob was uploaded", resp)
    got = moved.dest.client().query("com.atproto.sync.getBlob", {"did": moved.new.did, "cid": moved.blob_cid})
    expect_ok_car(got)
    expect_equal(got.content, moved.blob, "the blob's bytes at the new PDS", got)


@pytest.mark.requirement("MIG-01")
@pytest.mark.needs(*NEEDS)
def test_the_account_is_active_on_the_new_pds(moved: Moved) -> None:
    got, resp = status_of(moved.dest.client(), moved.new.did)
    expect_equal(got.get("active"), True, "getRepoStatus' active on the new PDS", resp)
    # write_record fails the test unless the write is a 200 matching putRecord's Lexicon output.
    write_record(moved.new, note("after the move", COLLECTION), rkey="after")


@pytest.mark.requirement("ACCT-05")
@pytest.mark.needs(*NEEDS)
def test_the_old_pds_reports_the_account_deactivated_and_refuses_writes(moved: Moved) -> None:
    """deactivateAccount on the old PDS: getRepoStatus says so, and writes are refused."""
    got, resp = status_of(moved.source.client(), moved.old.did)
    expect_equal(got.get("active"), False, "getRepoStatus' active on the old PDS", resp)
    expect_equal(got.get("status"), "deactivated", "getRepoStatus' status on the old PDS", resp)
    body = {
        "repo": moved.old.did,
        "collection": COLLECTION,
        "rkey": "late",
        "record": note("late", COLLECTION),
    }
    refused = moved.old.client.procedure("com.atproto.repo.putRecord", body)
    expect(refused.status >= 400, "a write to the deactivated account to be refused", refused.status, refused)


@pytest.mark.requirement("SYNC-HTTP-03")
@pytest.mark.needs(*NEEDS)
def test_the_old_pds_answers_repo_deactivated(moved: Moved) -> None:
    resp = moved.source.client().query("com.atproto.sync.getRepo", {"did": moved.old.did})
    expect_error(resp, 400, "RepoDeactivated")


@pytest.mark.requirement("MIG-06")
@pytest.mark.needs(*NEEDS)
def test_check_account_status_reports_the_imported_account(moved: Moved) -> None:
    """checkAccountStatus on the new PDS (the account's own session) reports what arrived: activated, a valid
    DID, the repo's commit and rev, the records indexed and the blobs expected and imported."""
    resp = moved.new.client.query("com.atproto.server.checkAccountStatus")
    got = expect_ok(resp)
    expect_valid(got, lexicon_schema("com.atproto.server.checkAccountStatus", "output"), "its output", resp)
    head = latest_commit(moved.dest.client(), moved.new.did)
    expect_equal(got.get("activated"), True, "activated (after activateAccount)", resp)
    expect_equal(got.get("validDid"), True, "validDid (the DID document names this PDS)", resp)
    expect_equal(got.get("repoCommit"), head.cid, "repoCommit (getLatestCommit's cid)", resp)
    expect_equal(got.get("repoRev"), head.rev, "repoRev (getLatestCommit's rev)", resp)
    records, _rev = exported_records(moved.dest.client(), moved.new.did, None)
    expect_equal(got.get("indexedRecords"), len(records), "indexedRecords (the records in the repo)", resp)
    expect_equal(got.get("expectedBlobs"), 1, "expectedBlobs (one blob is referenced)", resp)
    expect_equal(got.get("importedBlobs"), 1, "importedBlobs (that blob was uploaded)", resp)


@pytest.mark.requirement("MIG-10")
@pytest.mark.needs(*NEEDS, "sync.subscribe-repos")
def test_the_new_pds_announces_identity_and_activation(moved: Moved) -> None:
    """account §PDS Account Migration: updating the identity "results in an #identity event being emitted from
    at least the new PDS host"; activation then makes the account active there (#account active=true)."""
    seen = events(moved.new_events)
    types = [f.t for f in moved.new_events]
    expect("#identity" in types, "an #identity event for the account on the new PDS's firehose", seen)
    active = [f for f in moved.new_events if f.t == "#account" and f.body.get("active") is True]
    expect(bool(active), "an #account event with active=true on the new PDS's firehose", seen)


@pytest.mark.requirement("MIG-11", "ACCT-05")
@pytest.mark.needs(*NEEDS, "sync.subscribe-repos")
def test_the_old_pds_announces_the_deactivation(moved: Moved) -> None:
    """deactivateAccount on the old PDS emits ``#account`` with active=false and status=deactivated."""
    gone = [
        f
        for f in moved.old_events
        if f.t == "#account" and f.body.get("active") is False and f.body.get("status") == "deactivated"
    ]
    expect(
        bool(gone),
        "#account active=false status=deactivated on the old PDS's firehose",
        events(moved.old_events),
    )


# -- service auth --------------------------------------------------------------------------------------------


def service_auth(
    account: Account, aud: str, lxm: str | None, exp: int | None = None
) -> tuple[str, XrpcResponse]:
    params: dict[str, Any] = {"aud": aud}
    if lxm is not None:
        params["lxm"] = lxm
    if exp is not None:
        params["exp"] = exp
    resp = account.client.query("com.atproto.server.getServiceAuth", params)
    token = expect_ok(resp).get("token")
    if not isinstance(token, str):
        raise ConformanceFailure("a token string from getServiceAuth", resp.text[:200], resp)
    return token, resp


def service_did(pds: XrpcClient) -> str:
    return str(expect_ok(pds.query("com.atproto.server.describeServer")).get("did"))


@pytest.mark.requirement("XRPC-SA-01", "XRPC-SA-02", "CRY-JWT-01")
@pytest.mark.needs("account.create", "identity.plc")
def test_service_auth_is_signed_by_the_account_key(
    account: Account, twin: TargetUnderTest, plc: XrpcClient
) -> None:
    """The token's header names the key's algorithm; its claims name the account, the audience and the
    method; its signature verifies with the DID document's #atproto key."""
    aud = service_did(twin.client())
    token, resp = service_auth(account, aud, CREATE_ACCOUNT)
    with oracle_verdict("a compact JWS signed by the account's #atproto key", resp):
        jwt = parse_jwt(token)
        jwt.verify(atproto_key(did_document(plc, account.did), account.did))
    expect_equal(jwt.header.get("typ"), "JWT", "the JWT header's typ", resp)
    claims = jwt.claims
    expect_equal(claims.get("iss"), account.did, "the iss claim (the bare account DID)", resp)
    expect_equal(claims.get("aud"), aud, "the aud claim (as requested)", resp)
    expect_equal(claims.get("lxm"), CREATE_ACCOUNT, "the lxm claim (as requested)", resp)
    exp, iat = claims.get("exp"), claims.get("iat")
    expect(
        isinstance(exp, int) and isinstance(iat, int) and iat <= exp,
        "integer iat <= exp (seconds)",
        claims,
        resp,
    )


def create_with(twin: TargetUnderTest, account: Account, token: str | None) -> XrpcResponse:
    body = {
        "did": account.did,
        "handle": f"x{secrets.token_hex(4)}{twin.handle_domain}",
        "email": f"x{secrets.token_hex(4)}@example.test",
        "password": secrets.token_urlsafe(12),
    }
    client = twin.client()
    return (client.with_token(token) if token else client).procedure(CREATE_ACCOUNT, body)


def resigned(token: str, resp: XrpcResponse) -> str:
    """The same header and claims, signed by a fresh key of the same curve: a key the DID document lacks."""
    with oracle_verdict("a compact JWS from getServiceAuth", resp):
        jwt = parse_jwt(token)
    curve = "p256" if jwt.header.get("alg") == "ES256" else "k256"
    signing_input = token.rsplit(".", 1)[0]
    signature = PrivateKey.generate(curve).sign(signing_input.encode())
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


@pytest.mark.requirement("MIG-02")
@pytest.mark.needs("account.create", "identity.plc")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param("no-token", marks=pytest.mark.requirement("XRPC-SA-05")),
        pytest.param("wrong-lxm", marks=pytest.mark.requirement("XRPC-SA-05")),
        pytest.param("wrong-aud", marks=pytest.mark.requirement("XRPC-SA-04")),
        pytest.param("expired", marks=pytest.mark.requirement("XRPC-SA-05")),
        pytest.param("wrong-key", marks=pytest.mark.requirement("XRPC-SA-03")),
    ],
)
def test_create_account_with_an_existing_did_needs_valid_service_auth(
    account_factory: Any, twin: TargetUnderTest, case: str
) -> None:
    """createAccount for an existing DID is refused without a service-auth token signed by the DID's key for
    this PDS and this method, with an expired one, and with one signed by a key the DID document lacks."""
    account: Account = account_factory()
    aud = service_did(twin.client())
    token: str | None = None
    if case == "wrong-lxm":
        token, _ = service_auth(account, aud, "com.atproto.repo.createRecord")
    elif case == "wrong-aud":
        token, _ = service_auth(account, "did:web:elsewhere.example.test", CREATE_ACCOUNT)
    elif case == "expired":
        token, _ = service_auth(account, aud, CREATE_ACCOUNT, exp=int(time.time()) + 2)
        time.sleep(3.5)
    elif case == "wrong-key":
        token = resigned(*service_auth(account, aud, CREATE_ACCOUNT))
    resp = create_with(twin, account, token)
    expect(400 <= resp.status < 500, f"createAccount with {case} to be refused (4xx)", resp.status, resp)


@pytest.mark.requirement("REPO-CAR-05")
@pytest.mark.needs(*NEEDS)
def test_import_reads_a_car_in_any_block_order_with_duplicates_and_extras(
    account_factory: Any, target: TargetUnderTest, twin: TargetUnderTest
) -> None:
    """importRepo of the same repository written differently (blocks reversed, the commit block twice, one
    block nothing references) is accepted, and every record arrives."""
    old: Account = account_factory()
    for n in range(3):
        write_record(old, note(f"scrambled {n}", COLLECTION), rkey=f"s{n}")
    migration = migrate(old, target, twin, stop_before="blobs", reshape_car=scrambled_car)
    assert migration.new is not None
    want = expect_ok(old.client.query("com.atproto.server.checkAccountStatus"))
    resp = migration.new.client.query("com.atproto.server.checkAccountStatus")
    got = expect_ok(resp)
    expect_equal(
        got.get("indexedRecords"), want.get("indexedRecords"), "records indexed after the import", resp
    )


# -- aborted migrations --------------------------------------------------------------------------------------


@pytest.mark.requirement("MIG-02")
@pytest.mark.needs(*NEEDS)
@pytest.mark.parametrize("stop_before", ["import-repo", "plc-token", "submit-plc-operation"])
def test_an_aborted_migration_leaves_the_account_usable_on_the_old_pds(
    account_factory: Any, target: TargetUnderTest, twin: TargetUnderTest, plc: XrpcClient, stop_before: str
) -> None:
    """Stopped before import, after import, or before the PLC operation: the old PDS still serves and writes
    the account, the DID document still names it, and the new PDS holds it inactive."""
    old: Account = account_factory()
    write_record(old, note("before", COLLECTION), rkey="before")
    migration = migrate(old, target, twin, stop_before=stop_before)
    assert migration.new is not None
    write_record(old, note("still here", COLLECTION), rkey="after")
    got, resp = status_of(target.client(), old.did)
    expect_equal(got.get("active"), True, "getRepoStatus' active on the old PDS", resp)
    doc = did_document(plc, old.did)
    endpoint = document_entry(doc, "service", old.did, "atproto_pds").get("serviceEndpoint", "")
    port = target.endpoint("pds").url.rsplit(":", 1)[-1]
    expect(
        str(endpoint).rstrip("/").endswith(f":{port}"), "the DID document to still name the old PDS", endpoint
    )
    new_status = twin.client().query("com.atproto.sync.getRepoStatus", {"did": old.did})
    if new_status.status == 200:
        expect_equal(new_status.json().get("active"), False, "the new PDS's getRepoStatus active", new_status)


@pytest.mark.requirement("MIG-08")
@pytest.mark.needs(*NEEDS)
def test_sign_plc_operation_refuses_a_wrong_token(account_factory: Any, twin: TargetUnderTest) -> None:
    old: Account = account_factory()
    expect_ok_car(old.client.procedure("com.atproto.identity.requestPlcOperationSignature"))
    recommended = twin.client().query("com.atproto.identity.getRecommendedDidCredentials")
    fields = expect_ok(recommended) if recommended.status == 200 else {}
    resp = old.client.procedure("com.atproto.identity.signPlcOperation", {"token": "AAAAA-AAAAA", **fields})
    expect(
        400 <= resp.status < 500, "signPlcOperation with a wrong token to be refused (4xx)", resp.status, resp
    )


# -- across implementations ----------------------------------------------------------------------------------


@pytest.mark.requirement("MIG-01", "MIG-03")
@pytest.mark.needs(*NEEDS)
@pytest.mark.interop("migration", producer="target", consumer="peer")
def test_an_account_moves_to_another_implementation(
    account_factory: Any, target: TargetUnderTest, peer: TargetUnderTest
) -> None:
    """The same flow towards another implementation of the run. A peer that cannot take part is reported
    with the step it cannot do."""
    if not peer.supports("account.create"):
        pytest.skip(f"{peer.name} cannot take part: step create-account needs createAccount (not declared)")
    old: Account = account_factory()
    write_record(old, note("crossing", COLLECTION), rkey="x")
    try:
        migration = migrate(old, target, peer)
    except MigrationStepFailed as failed:
        raise ConformanceFailure(
            f"{target.name} -> {peer.name}: every step of {STEPS}", str(failed)
        ) from None
    assert migration.new is not None
