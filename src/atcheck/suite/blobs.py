"""Blobs in a suite: upload, the CID a blob must have, getBlob, listBlobs paged to the end, and waiting.

Spec: https://atproto.com/specs/blob. A blob's reference is the CIDv1 of its exact bytes with the *raw* codec
(0x55) and sha-256; :func:`blob_cid` computes it with atcheck's oracle, never from the server's answer.
Uploads are checked the way record writes are (a 200 matching the Lexicon output), because a test that
uploads to set the scene must stop clearly when it cannot; getBlob and listBlobs return raw responses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atcheck.accounts import Account
from atcheck.checks import ConformanceFailure, expect_ok, expect_valid
from atcheck.oracle.cid import RAW, compute_cid
from atcheck.schema.registry import lexicon_schema
from atcheck.xrpc.client import XrpcClient, XrpcResponse

__all__ = [
    "UploadedBlob",
    "blob_cid",
    "get_blob",
    "list_all_blobs",
    "list_blobs",
    "upload_blob",
    "upload_blob_raw",
    "wait_for",
]


def blob_cid(data: bytes) -> str:
    """The CID a blob of these bytes must have: CIDv1, raw codec, sha-256, base32."""
    return str(compute_cid(data, RAW))


@dataclass
class UploadedBlob:
    """What uploadBlob answered: the blob object (to put in a record) and the response."""

    ref: dict[str, Any]
    response: XrpcResponse

    @property
    def cid(self) -> str:
        link = self.ref.get("ref")
        return str(link.get("$link")) if isinstance(link, dict) else ""


def upload_blob_raw(account: Account, data: bytes, mime_type: str) -> XrpcResponse:
    """uploadBlob, unchecked: the bytes as the body, ``mime_type`` as its Content-Type."""
    return account.client.procedure("com.atproto.repo.uploadBlob", data=data, content_type=mime_type)


def upload_blob(account: Account, data: bytes, mime_type: str = "application/octet-stream") -> UploadedBlob:
    """uploadBlob, checked: HTTP 200 and an output matching the Lexicon (``{"blob": <blob object>}``)."""
    resp = upload_blob_raw(account, data, mime_type)
    got = expect_ok(resp)
    expect_valid(got, lexicon_schema("com.atproto.repo.uploadBlob", "output"), "the uploadBlob output", resp)
    blob = got.get("blob")
    if not isinstance(blob, dict):
        raise ConformanceFailure("a blob object in the uploadBlob answer", got, resp)
    return UploadedBlob(ref=blob, response=resp)


def get_blob(client: XrpcClient, did: str, cid: str) -> XrpcResponse:
    """com.atproto.sync.getBlob (public: any client)."""
    return client.query("com.atproto.sync.getBlob", {"did": did, "cid": cid})


def list_blobs(
    client: XrpcClient, did: str, *, limit: int | None = None, cursor: str | None = None
) -> XrpcResponse:
    """One page of com.atproto.sync.listBlobs."""
    return client.query("com.atproto.sync.listBlobs", {"did": did, "limit": limit, "cursor": cursor})


def list_all_blobs(client: XrpcClient, did: str, *, limit: int = 500, max_pages: int = 100) -> list[str]:
    """Every CID listBlobs gives for ``did``, following ``cursor`` until a page comes back without one.

    Each page must match the Lexicon output and hold at most ``limit`` CIDs; a server that keeps sending
    cursors past ``max_pages`` pages is a failure, not an endless loop.
    """
    cids: list[str] = []
    cursor: str | None = None
    schema = lexicon_schema("com.atproto.sync.listBlobs", "output")
    for _ in range(max_pages):
        resp = list_blobs(client, did, limit=limit, cursor=cursor)
        page = expect_ok(resp)
        expect_valid(page, schema, "the listBlobs output", resp)
        got = page.get("cids", [])
        if len(got) > limit:
            raise ConformanceFailure(f"at most limit={limit} CIDs on a page", len(got), resp)
        cids.extend(str(c) for c in got)
        cursor = page.get("cursor")
        if not cursor or not got:
            return cids
    raise ConformanceFailure(f"listBlobs to end within {max_pages} pages", f"a cursor after page {max_pages}")


def wait_for(check: Callable[[], bool], *, timeout_s: float = 5.0, interval_s: float = 0.1) -> bool:
    """Poll ``check`` until it is true or ``timeout_s`` passes; for effects the spec lets a server delay
    (garbage collection of dereferenced blobs). Returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
