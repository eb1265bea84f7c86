"""Records in a suite: their values, their keys, and the one way each write, read and delete is made.

Every suite writes through these functions, so a record is always written, read and deleted the same way
and a test reads as what it checks, not as request plumbing. Writes are *checked* (a 200 whose body matches
the Lexicon output schema), because a test that writes to set the scene must stop with a clear failure when
the scene cannot be set; reads and deletes return the raw response, because judging it is often the test.

Suites write records of unknown Lexicons under ``com.example.atcheck.*`` with ``$type`` equal to the
collection: servers store them without app-level validation, so any data-model value can be sent.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from itertools import count
from typing import Any

from atcheck.accounts import Account
from atcheck.checks import ConformanceFailure, expect_equal, expect_error, expect_ok, expect_valid
from atcheck.oracle.cbor import cid_for_record
from atcheck.schema.registry import lexicon_schema
from atcheck.syntax import encode_tid
from atcheck.xrpc.client import XrpcClient, XrpcResponse

__all__ = [
    "COLLECTION",
    "WrittenRecord",
    "apply_writes",
    "delete_record",
    "expect_absent",
    "expect_stored",
    "new_rkey",
    "new_tid",
    "note",
    "put_record",
    "put_record_json",
    "read_record",
    "record_uri",
    "write_record",
]

#: The collection a record goes to when a test names none.
COLLECTION = "com.example.atcheck.record"
#: A fixed createdAt, so a record's CID depends only on what a test chose to vary.
CREATED_AT = "2026-01-01T00:00:00.000Z"

_serial = count()


def note(text: str, collection: str = COLLECTION) -> dict[str, Any]:
    """A small record value: ``$type`` (the collection), ``text`` and a fixed ``createdAt``."""
    return {"$type": collection, "text": text, "createdAt": CREATED_AT}


def new_rkey(prefix: str = "r") -> str:
    """A record key no earlier write of this run used (a serial number plus a random tail)."""
    return f"{prefix}{next(_serial)}{secrets.token_hex(3)}"


def new_tid() -> str:
    """A fresh TID record key for now (collections such as ``app.bsky.feed.post`` require TID keys)."""
    return encode_tid(time.time_ns() // 1000, secrets.randbelow(1024))


def record_uri(account: Account, rkey: str, *, collection: str = COLLECTION) -> str:
    """The ``at://`` URI of a record of ``account``."""
    return f"at://{account.did}/{collection}/{rkey}"


@dataclass(frozen=True)
class WrittenRecord:
    """What a successful create or put returned: where the record is, its CID, and the commit it made."""

    uri: str
    cid: str
    rkey: str
    collection: str
    commit_cid: str | None
    rev: str | None
    body: dict[str, Any]
    response: XrpcResponse


def _collection_of(value: Any, collection: str | None) -> str:
    if collection is not None:
        return collection
    kind = value.get("$type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else COLLECTION


def put_record(
    account: Account, value: Any, *, rkey: str, collection: str | None = None, **extra: Any
) -> XrpcResponse:
    """putRecord, unchecked: for tests that judge the answer (a refusal, a status). ``extra`` adds fields
    of the request body such as ``validate`` or ``swapRecord``."""
    body = {"repo": account.did, "collection": _collection_of(value, collection), "rkey": rkey}
    return account.client.procedure("com.atproto.repo.putRecord", {**body, "record": value, **extra})


def put_record_json(
    account: Account, record_json: str, *, rkey: str, collection: str, **extra: Any
) -> XrpcResponse:
    """putRecord whose ``record`` is literal JSON text, for values Python's JSON writer cannot produce (an
    integer beyond 64 bits, a float spelled ``1.0``, a duplicate key). Unchecked, like :func:`put_record`."""
    head = json.dumps({"repo": account.did, "collection": collection, "rkey": rkey, **extra})
    raw = head[:-1] + f', "record": {record_json}}}'
    return account.client.procedure(
        "com.atproto.repo.putRecord", data=raw.encode(), content_type="application/json"
    )


def write_record(
    account: Account,
    value: Any,
    *,
    rkey: str | None = None,
    collection: str | None = None,
    **extra: Any,
) -> WrittenRecord:
    """Write ``value`` (putRecord at ``rkey``, or createRecord when no key is given) and check the answer.

    The collection is ``collection``, else the value's ``$type``. The answer must be a 200 whose body matches
    the method's Lexicon output; anything else is a :class:`ConformanceFailure` naming the request.
    """
    where = _collection_of(value, collection)
    if rkey is None:
        nsid = "com.atproto.repo.createRecord"
        body = {"repo": account.did, "collection": where, "record": value, **extra}
        resp = account.client.procedure(nsid, body)
    else:
        nsid = "com.atproto.repo.putRecord"
        resp = put_record(account, value, rkey=rkey, collection=where, **extra)
    got = expect_ok(resp)
    expect_valid(got, lexicon_schema(nsid, "output"), f"the {nsid.rsplit('.', 1)[1]} output", resp)
    uri = got.get("uri")
    if not isinstance(uri, str):
        raise ConformanceFailure("a uri string in the write's answer", got, resp)
    commit = got.get("commit")
    commit = commit if isinstance(commit, dict) else {}
    return WrittenRecord(
        uri=uri,
        cid=str(got.get("cid")),
        rkey=rkey if rkey is not None else uri.rsplit("/", 1)[-1],
        collection=where,
        commit_cid=commit.get("cid") if isinstance(commit.get("cid"), str) else None,
        rev=commit.get("rev") if isinstance(commit.get("rev"), str) else None,
        body=got,
        response=resp,
    )


def read_record(
    account: Account, rkey: str, *, collection: str = COLLECTION, via: XrpcClient | None = None
) -> XrpcResponse:
    """getRecord for a record of ``account``, through the account's own client or ``via`` another one
    (for example the unauthenticated PDS client, or a relay or AppView that serves records)."""
    client = via if via is not None else account.client
    params = {"repo": account.did, "collection": collection, "rkey": rkey}
    return client.query("com.atproto.repo.getRecord", params)


def delete_record(account: Account, rkey: str, *, collection: str = COLLECTION, **extra: Any) -> XrpcResponse:
    """deleteRecord, unchecked: the deletion's answer is judged by the tests that are about it."""
    body = {"repo": account.did, "collection": collection, "rkey": rkey, **extra}
    return account.client.procedure("com.atproto.repo.deleteRecord", body)


def expect_stored(account: Account, rkey: str, value: Any, *, collection: str = COLLECTION) -> dict[str, Any]:
    """getRecord returns exactly ``value``, at its URI, under the CID atcheck's oracle computes for it."""
    resp = read_record(account, rkey, collection=collection)
    got = expect_ok(resp)
    expect_valid(got, lexicon_schema("com.atproto.repo.getRecord", "output"), "the getRecord output", resp)
    expect_equal(got.get("uri"), record_uri(account, rkey, collection=collection), "getRecord's uri", resp)
    expect_equal(got.get("value"), value, "the stored record value", resp)
    expect_equal(got.get("cid"), cid_for_record(value), "getRecord's cid (DAG-CBOR CID of the record)", resp)
    return got


def expect_absent(account: Account, rkey: str, *, collection: str = COLLECTION) -> dict[str, Any]:
    """getRecord for a record that does not exist: the XRPC error ``RecordNotFound`` (400, or 404)."""
    return expect_error(read_record(account, rkey, collection=collection), (400, 404), "RecordNotFound")


def apply_writes(account: Account, writes: list[dict[str, Any]], **extra: Any) -> XrpcResponse:
    """applyWrites with ``writes`` (``#create``/``#update``/``#delete`` objects), unchecked: a test that
    sets the scene checks it with ``expect_ok``; one about atomicity judges the refusal itself."""
    body = {"repo": account.did, "writes": writes, **extra}
    return account.client.procedure("com.atproto.repo.applyWrites", body)
