"""Event-stream frames of ``com.atproto.sync.subscribeRepos``, as the emulated PDS writes them.

A frame is two DAG-CBOR objects back to back: the header ``{op: 1, t: "#commit"}`` and the payload map
(event-stream spec, "Framing"). These builders write honest payloads; the hostile cases change a payload
(or the bytes) after it is built, so each case differs from an honest frame in exactly one way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from atcheck.oracle.cbor import Value, encode
from atcheck.upstream.repo import CommitDraft

__all__ = [
    "account_body",
    "commit_body",
    "encode_frame",
    "error_frame",
    "identity_body",
    "now_iso",
    "sync_body",
]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def encode_frame(kind: str, body: dict[str, Value]) -> bytes:
    return encode({"op": 1, "t": kind}) + encode(body)


def error_frame(name: str, message: str) -> bytes:
    return encode({"op": -1}) + encode({"error": name, "message": message})


def commit_body(draft: CommitDraft, seq: int) -> dict[str, Value]:
    body: dict[str, Value] = {
        "seq": seq,
        "rebase": False,
        "tooBig": False,
        "repo": draft.did,
        "commit": draft.commit_cid,
        "rev": draft.rev,
        "since": draft.since,
        "blocks": draft.car(),
        "ops": list(draft.ops),
        "blobs": [],
        "time": now_iso(),
    }
    if draft.prev_data is not None:
        body["prevData"] = draft.prev_data
    return body


def sync_body(draft: CommitDraft, seq: int) -> dict[str, Value]:
    return {
        "seq": seq,
        "did": draft.did,
        "rev": draft.rev,
        "blocks": draft.commit_only_car(),
        "time": now_iso(),
    }


def identity_body(did: str, handle: str, seq: int) -> dict[str, Value]:
    return {"seq": seq, "did": did, "time": now_iso(), "handle": handle}


def account_body(did: str, seq: int, *, active: bool = True, status: str | None = None) -> dict[str, Value]:
    body: dict[str, Value] = {"seq": seq, "did": did, "time": now_iso(), "active": active}
    if status is not None:
        body["status"] = status
    return body
