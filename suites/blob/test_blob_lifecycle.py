"""Blobs: upload, the CID of the bytes, download, listing, and a blob's life while records reference it.

Spec: https://atproto.com/specs/blob (§Blob Metadata, §Blob Lifecycle, §Security Concerns) and the Lexicons
com.atproto.repo.uploadBlob, com.atproto.sync.getBlob and com.atproto.sync.listBlobs. Records that
reference blobs are of unknown Lexicons (``com.example.atcheck.blob``): a PDS finds blob references in any
record, whatever its Lexicon.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.suite import (
    SUITE_SETTINGS,
    Account,
    TargetUnderTest,
    XrpcClient,
    delete_record,
    expect,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    new_rkey,
    put_record,
    write_record,
)
from atcheck.suite.blobs import (
    UploadedBlob,
    blob_cid,
    get_blob,
    list_all_blobs,
    list_blobs,
    upload_blob,
    wait_for,
)

COLLECTION = "com.example.atcheck.blob"


def _payload(size: int = 300) -> bytes:
    """Bytes no other upload of the run has: each test's blob is its own."""
    return secrets.token_bytes(size)


def _reference(account: Account, blob: UploadedBlob, rkey: str | None = None) -> str:
    """Write a record whose ``file`` is the blob; return its rkey."""
    rkey = rkey or new_rkey("b")
    write_record(account, {"$type": COLLECTION, "file": blob.ref}, rkey=rkey, collection=COLLECTION)
    return rkey


# -- uploadBlob ----------------------------------------------------------------------------------------------


@pytest.mark.requirement("BLOB-01", "BLOB-02")
@pytest.mark.needs("blob.upload")
@SUITE_SETTINGS
@given(data=st.binary(min_size=1, max_size=4096))
def test_upload_answers_the_raw_cid_and_size_of_the_bytes(module_account: Account, data: bytes) -> None:
    """The blob object: ``$type`` blob, ``ref`` the raw-codec sha-256 CIDv1 of exactly these bytes, ``size``
    their length, ``mimeType`` the type sent (this type is not one a server would sniff differently)."""
    blob = upload_blob(module_account, data, "application/octet-stream")
    expect_equal(blob.ref.get("$type"), "blob", "the uploaded blob's $type", blob.response)
    expect_equal(
        blob.cid, blob_cid(data), "the blob's ref (raw-codec sha-256 CID of the bytes)", blob.response
    )
    expect_equal(blob.ref.get("size"), len(data), "the blob's size", blob.response)
    expect_equal(blob.ref.get("mimeType"), "application/octet-stream", "the blob's mimeType", blob.response)


@pytest.mark.requirement("BLOB-01")
@pytest.mark.needs("blob.upload")
def test_upload_needs_authentication(pds: XrpcClient) -> None:
    resp = pds.procedure("com.atproto.repo.uploadBlob", data=b"x", content_type="text/plain")
    expect_status(resp, 401)


@pytest.mark.requirement("BLOB-09")
@pytest.mark.needs("blob.upload")
def test_uploading_the_same_bytes_twice_gives_the_same_blob(module_account: Account) -> None:
    data = _payload()
    first, second = upload_blob(module_account, data), upload_blob(module_account, data)
    expect_equal(second.ref, first.ref, "the second upload's blob object", second.response)


# -- before and after a record references it -----------------------------------------------------------------


@pytest.mark.requirement("BLOB-05")
@pytest.mark.needs("blob.upload", "blob.read")
def test_an_unreferenced_blob_is_not_served(module_account: Account, pds: XrpcClient) -> None:
    """A blob no record references yet is temporary: getBlob answers an error (its name is judged by the
    BLOB-13 test), listBlobs omits it."""
    blob = upload_blob(module_account, _payload())
    expect_error(get_blob(pds, module_account.did, blob.cid), (400, 404))
    expect(
        blob.cid not in list_all_blobs(pds, module_account.did),
        "listBlobs without the temporary blob",
        blob.cid,
    )


@pytest.mark.requirement("BLOB-07", "BLOB-12")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_a_referenced_blob_is_served_byte_for_byte(module_account: Account, pds: XrpcClient) -> None:
    data = _payload(2000)
    blob = upload_blob(module_account, data, "application/octet-stream")
    _reference(module_account, blob)
    resp = get_blob(pds, module_account.did, blob.cid)
    expect_status(resp, 200)
    expect_equal(resp.content, data, "getBlob's body (the uploaded bytes)", resp)


@pytest.mark.requirement("BLOB-07", "BLOB-15", "DM-BLOB-04")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_a_referenced_blob_is_listed(module_account: Account, pds: XrpcClient) -> None:
    """The reference sits deep inside a record of a Lexicon the PDS does not know: blob refs are found
    without a schema, as any nested map with ``$type: blob``."""
    blob = upload_blob(module_account, _payload())
    record = {"$type": COLLECTION, "deep": {"items": [{"note": "x"}, {"file": blob.ref}]}}
    write_record(module_account, record, rkey=new_rkey("b"), collection=COLLECTION)
    expect(blob.cid in list_all_blobs(pds, module_account.did), f"listBlobs to include {blob.cid}", "absent")


@pytest.mark.requirement("BLOB-12")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_get_blob_labels_the_bytes_with_the_blob_type(module_account: Account, pds: XrpcClient) -> None:
    """SHOULD: Content-Type is the blob's mimeType, Content-Length the size."""
    data = b"plain text blob " + secrets.token_hex(8).encode()
    blob = upload_blob(module_account, data, "text/plain")
    _reference(module_account, blob)
    resp = get_blob(pds, module_account.did, blob.cid)
    expect_status(resp, 200)
    expect_equal(
        resp.content_type, str(blob.ref.get("mimeType")), "getBlob's Content-Type (the mimeType)", resp
    )
    expect_equal(resp.headers.get("content-length"), str(len(data)), "getBlob's Content-Length", resp)


@pytest.mark.requirement("BLOB-12")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_get_blob_is_sandboxed(module_account: Account, pds: XrpcClient) -> None:
    """SHOULD: ``Content-Security-Policy`` with ``default-src 'none'`` and ``sandbox``, and
    ``X-Content-Type-Options: nosniff``, so a blob cannot run as a page of the PDS's origin."""
    blob = upload_blob(module_account, _payload())
    _reference(module_account, blob)
    resp = get_blob(pds, module_account.did, blob.cid)
    expect_status(resp, 200)
    csp = str(resp.headers.get("content-security-policy", ""))
    expect(
        "default-src 'none'" in csp and "sandbox" in csp,
        "a CSP with default-src 'none' and sandbox",
        csp,
        resp,
    )
    expect_equal(
        str(resp.headers.get("x-content-type-options", "")).lower(), "nosniff", "X-Content-Type-Options", resp
    )


@pytest.mark.requirement("BLOB-06")
@pytest.mark.needs("repo.write")
def test_a_record_may_not_reference_a_blob_never_uploaded(module_account: Account) -> None:
    """SHOULD: a record whose blob reference names bytes the PDS never received is refused."""
    data = _payload()
    ref = {
        "$type": "blob",
        "ref": {"$link": blob_cid(data)},
        "mimeType": "application/octet-stream",
        "size": 300,
    }
    resp = put_record(
        module_account, {"$type": COLLECTION, "file": ref}, rkey=new_rkey("m"), collection=COLLECTION
    )
    expect_status(resp, 400)


# -- listBlobs paging ----------------------------------------------------------------------------------------


@pytest.mark.requirement("BLOB-15")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_list_blobs_pages_by_cursor(account: Account, pds: XrpcClient) -> None:
    """With limit=2, five referenced blobs come back over the pages, each once, and nothing else."""
    cids = []
    for _ in range(5):
        blob = upload_blob(account, _payload(64))
        _reference(account, blob)
        cids.append(blob.cid)
    first = expect_ok(list_blobs(pds, account.did, limit=2))
    expect(len(first.get("cids", [])) <= 2, "at most 2 CIDs on a page with limit=2", first)
    listed = list_all_blobs(pds, account.did, limit=2)
    expect_equal(sorted(listed), sorted(cids), "the CIDs listBlobs gives over every page (each once)")


# -- while a record references it, and after -----------------------------------------------------------------


@pytest.mark.requirement("BLOB-09")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_a_blob_stays_while_any_record_references_it(module_account: Account, pds: XrpcClient) -> None:
    """One blob backs two records; deleting one leaves it served and listed."""
    data = _payload()
    blob = upload_blob(module_account, data)
    first, _ = _reference(module_account, blob), _reference(module_account, blob)
    expect_status(delete_record(module_account, first, collection=COLLECTION), 200)
    resp = get_blob(pds, module_account.did, blob.cid)
    expect_status(resp, 200)
    expect_equal(resp.content, data, "getBlob's body after one of two records is deleted", resp)
    expect(
        blob.cid in list_all_blobs(pds, module_account.did), "listBlobs still to include the blob", "absent"
    )


@pytest.mark.requirement("BLOB-10")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write")
def test_a_blob_goes_when_no_record_references_it(module_account: Account, pds: XrpcClient) -> None:
    """SHOULD: after the last referencing record is deleted, the blob is no longer served or listed
    (within a few seconds: the spec lets deletion happen in the background)."""
    blob = upload_blob(module_account, _payload())
    rkey = _reference(module_account, blob)
    expect_status(delete_record(module_account, rkey, collection=COLLECTION), 200)
    gone = wait_for(lambda: get_blob(pds, module_account.did, blob.cid).status != 200)
    expect(gone, "getBlob to stop serving the blob once no record references it", "still served after 5 s")
    expect_error(get_blob(pds, module_account.did, blob.cid), (400, 404))
    expect(blob.cid not in list_all_blobs(pds, module_account.did), "listBlobs without the blob", blob.cid)


# -- errors and limits ---------------------------------------------------------------------------------------


@pytest.mark.requirement("XRPC-ERR-02")
@pytest.mark.needs("blob.read")
def test_get_blob_of_an_unknown_cid_is_blob_not_found(module_account: Account, pds: XrpcClient) -> None:
    """The error name the Lexicon declares, ``BlobNotFound``: xrpc §Error Responses makes that a "should"
    ("The error type should map to an error name defined in the endpoint's Lexicon schema")."""
    expect_error(get_blob(pds, module_account.did, blob_cid(_payload())), (400, 404), "BlobNotFound")


@pytest.mark.requirement("BLOB-13")
@pytest.mark.needs("blob.read")
def test_get_blob_of_an_unknown_repo_is_repo_not_found(pds: XrpcClient) -> None:
    resp = get_blob(pds, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", blob_cid(b"x"))
    expect_error(resp, (400, 404), "RepoNotFound")


def _profile(avatar: dict[str, Any]) -> dict[str, Any]:
    return {"$type": "app.bsky.actor.profile", "displayName": "blob limits", "avatar": avatar}


@pytest.mark.requirement("BLOB-08", "LEX-VAL-10")
@pytest.mark.needs("blob.upload", "repo.write", "repo.validate")
def test_the_lexicon_accept_list_is_enforced_at_the_record(account: Account) -> None:
    """app.bsky.actor.profile's avatar accepts image/png and image/jpeg only: a text/plain blob is
    uploaded fine and refused when the profile record references it."""
    blob = upload_blob(account, b"not an image " + secrets.token_hex(8).encode(), "text/plain")
    resp = put_record(
        account, _profile(blob.ref), rkey="self", collection="app.bsky.actor.profile", validate=True
    )
    expect_status(resp, 400)


@pytest.mark.requirement("BLOB-08", "LEX-VAL-10")
@pytest.mark.needs("blob.upload", "repo.write", "repo.validate")
def test_the_lexicon_max_size_is_enforced_at_the_record(account: Account) -> None:
    """The avatar's maxSize is 1,000,000 bytes: a larger image/png blob uploads, and the record is refused."""
    data = b"\x89PNG\r\n\x1a\n" + _payload(1_000_100)
    blob = upload_blob(account, data, "image/png")
    resp = put_record(
        account, _profile(blob.ref), rkey="self", collection="app.bsky.actor.profile", validate=True
    )
    expect_status(resp, 400)


@pytest.mark.requirement("BLOB-13")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write", "account.create", "account.session")
def test_blobs_of_a_deactivated_account_are_not_public(account: Account, pds: XrpcClient) -> None:
    """After deactivateAccount, getBlob of a blob the account's records reference answers the Lexicon's
    RepoDeactivated: "When an account is deactivated ... blobs should not be publicly accessible"."""
    blob = upload_blob(account, _payload())
    _reference(account, blob)
    expect_status(get_blob(pds, account.did, blob.cid), 200)
    expect_status(account.client.procedure("com.atproto.server.deactivateAccount", {}), 200)
    expect_error(get_blob(pds, account.did, blob.cid), (400, 404), "RepoDeactivated")


@pytest.mark.requirement("BLOB-13")
@pytest.mark.needs("blob.upload", "blob.read", "repo.write", "admin")
def test_blobs_of_a_taken_down_account_are_not_public(
    account: Account, pds: XrpcClient, target: TargetUnderTest
) -> None:
    """After an admin takedown of the repo (com.atproto.admin.updateSubjectStatus), getBlob answers the
    Lexicon's RepoTakendown."""
    password = target.endpoint("pds").credentials.admin_password
    if not password:
        pytest.skip(f"target {target.name} gives atcheck no admin password")
    blob = upload_blob(account, _payload())
    _reference(account, blob)
    basic = base64.b64encode(f"admin:{password}".encode()).decode()
    body = {
        "subject": {"$type": "com.atproto.admin.defs#repoRef", "did": account.did},
        "takedown": {"applied": True, "ref": "atcheck-blob-suite"},
    }
    resp = pds.procedure(
        "com.atproto.admin.updateSubjectStatus", body, headers={"Authorization": f"Basic {basic}"}
    )
    expect_status(resp, 200)
    expect_error(get_blob(pds, account.did, blob.cid), (400, 404), "RepoTakendown")
