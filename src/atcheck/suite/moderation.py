"""Moderation at a PDS as suites drive it: takedowns through the admin API, account status, the firehose.

- :func:`take_down` / :func:`restore`: ``com.atproto.admin.updateSubjectStatus`` on an account, a record
  or a blob, with the admin password of the target (HTTP Basic ``admin:<password>``, xrpc §Admin Token).
- :func:`repo_ref`, :func:`record_ref`, :func:`blob_ref`: the subjects that call takes.
- :func:`repo_status`: ``com.atproto.sync.getRepoStatus``; :func:`upload_blob`: a blob the account owns and
  references from a record (a PDS may keep unreferenced blobs out of ``getBlob``).
- :func:`firehose`: the PDS's ``com.atproto.sync.subscribeRepos``, frames decoded by
  :mod:`atcheck.suite.firehose`; :func:`account_event` waits for an ``#account`` event of one DID.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any, Final

from atcheck.accounts import Account, AccountFactory
from atcheck.checks import ConformanceFailure, expect_ok
from atcheck.suite.firehose import SUBSCRIBE_REPOS, Frame, Subscription, subscribe
from atcheck.suite.records import new_rkey, put_record
from atcheck.suite.target import TargetUnderTest
from atcheck.xrpc.client import XrpcResponse

__all__ = [
    "SUBSCRIBE_REPOS",
    "account_event",
    "account_on",
    "admin_headers",
    "blob_ref",
    "firehose",
    "record_ref",
    "repo_ref",
    "repo_status",
    "restore",
    "take_down",
    "upload_blob",
]

_UPDATE: Final = "com.atproto.admin.updateSubjectStatus"


def admin_headers(target: TargetUnderTest) -> dict[str, str]:
    """``Authorization: Basic admin:<password>`` for the target's PDS (needs capability ``admin``)."""
    password = target.endpoint("pds").credentials.admin_password
    if not password:
        raise ConformanceFailure("an admin password for the target's PDS (capability admin)", None)
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def repo_ref(did: str) -> dict[str, Any]:
    return {"$type": "com.atproto.admin.defs#repoRef", "did": did}


def record_ref(uri: str, cid: str) -> dict[str, Any]:
    return {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid}


def blob_ref(did: str, cid: str) -> dict[str, Any]:
    return {"$type": "com.atproto.admin.defs#repoBlobRef", "did": did, "cid": cid}


def _status(target: TargetUnderTest, subject: dict[str, Any], applied: bool) -> XrpcResponse:
    body = {"subject": subject, "takedown": {"applied": applied, "ref": f"atcheck-{secrets.token_hex(4)}"}}
    return target.client("pds").procedure(_UPDATE, body, headers=admin_headers(target))


def take_down(target: TargetUnderTest, subject: dict[str, Any]) -> XrpcResponse:
    """Take ``subject`` down (``takedown.applied`` true); the answer is checked (200)."""
    resp = _status(target, subject, True)
    expect_ok(resp)
    return resp


def restore(target: TargetUnderTest, subject: dict[str, Any]) -> XrpcResponse:
    """Reverse a takedown of ``subject`` (``takedown.applied`` false); the answer is checked (200)."""
    resp = _status(target, subject, False)
    expect_ok(resp)
    return resp


def repo_status(target: TargetUnderTest, did: str, role: str = "pds") -> XrpcResponse:
    """``com.atproto.sync.getRepoStatus`` for ``did`` at the target's ``role`` (unauthenticated, raw)."""
    return target.client(role).query("com.atproto.sync.getRepoStatus", {"did": did})


def account_on(target: TargetUnderTest) -> Account:
    """A fresh account on ``target``'s PDS, made the way that target provisions accounts (for a test whose
    target is another service, such as a relay following this PDS)."""
    factory = AccountFactory(
        target.endpoint("pds"),
        target.client("pds"),
        provisioning=target.manifest.provisioning,
        handle_domain=target.handle_domain,
    )
    return factory()


def upload_blob(account: Account, data: bytes | None = None, mime: str = "image/png") -> str:
    """Upload a blob as ``account`` and reference it from a record; return its CID."""
    payload = data if data is not None else b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(64)
    resp = account.client.procedure("com.atproto.repo.uploadBlob", data=payload, content_type=mime)
    blob = expect_ok(resp).get("blob")
    if not isinstance(blob, dict) or not isinstance(blob.get("ref"), dict):
        raise ConformanceFailure("uploadBlob's {blob: {ref: {$link}, mimeType, size}}", blob, resp)
    cid = str(blob["ref"].get("$link"))
    record = {"$type": "com.example.atcheck.file", "file": blob}
    expect_ok(put_record(account, record, rkey=new_rkey("blob"), collection="com.example.atcheck.file"))
    return cid


def firehose(target: TargetUnderTest, cursor: int | None = None) -> Subscription:
    """The target PDS's ``subscribeRepos`` (use as a context manager)."""
    return subscribe(target.endpoint("pds").url, cursor=cursor, recorder=target.recorder)


def account_event(
    sub: Subscription, did: str, timeout: float = 10.0, *, active: bool | None = None, what: str = ""
) -> Frame:
    """The next ``#account`` event about ``did`` on ``sub`` (with ``active`` as given, if given).

    Earlier events of the same account (its creation's ``active: true``, sequenced late) are passed over
    when ``active`` is given; a StreamFailure if no matching event comes within ``timeout`` seconds.
    """
    frames = sub.read_until(
        lambda f: (
            f.t == "#account"
            and f.body.get("did") == did
            and (active is None or f.body.get("active") is active)
        ),
        timeout,
        what=what or f"an #account event for {did}" + ("" if active is None else f" with active={active}"),
    )
    return frames[-1]
