"""The head of a repository as its PDS reports it (``com.atproto.sync.getLatestCommit``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atcheck.checks import ConformanceFailure, expect_ok, expect_valid
from atcheck.schema.registry import lexicon_schema
from atcheck.xrpc.client import XrpcClient, XrpcResponse

__all__ = ["LatestCommit", "latest_commit"]


@dataclass(frozen=True)
class LatestCommit:
    """getLatestCommit's answer: the commit CID and rev, the whole body, and the response as evidence."""

    cid: str
    rev: str
    body: dict[str, Any]
    response: XrpcResponse


def latest_commit(service: XrpcClient, did: str) -> LatestCommit:
    """The latest commit of ``did`` at ``service`` (a PDS, or a relay that mirrors it), checked against the
    method's Lexicon output."""
    resp = service.query("com.atproto.sync.getLatestCommit", {"did": did})
    got = expect_ok(resp)
    expect_valid(
        got, lexicon_schema("com.atproto.sync.getLatestCommit", "output"), "getLatestCommit output", resp
    )
    cid, rev = got.get("cid"), got.get("rev")
    if not isinstance(cid, str) or not isinstance(rev, str):
        raise ConformanceFailure("cid and rev strings from getLatestCommit", got, resp)
    return LatestCommit(cid=cid, rev=rev, body=got, response=resp)
