"""The relay's faults: defects of a relay (indigo's ``cmd/relay`` is the one atcheck runs), each a small
function whose docstring names the rule it breaks. Importing this module registers them.

The proxy stands between atcheck and the relay, not between the relay and the PDSes it follows: what the
relay receives is honest, and each fault changes what the relay *serves*, as a buggy relay would. Two sides:

- its combined firehose (``com.atproto.sync.subscribeRepos`` on the relay): events lost, repeated or
  reordered, its own ``seq``, a status event dropped, a relayed commit no longer the PDS's (an op removed,
  blocks altered, the signature broken, ``prevData`` lost), and a ``cursor`` ignored on replay;
- its HTTP read side (``getLatestCommit``, ``getRepoStatus``, ``listRepos``, ``listHosts``,
  ``getHostStatus``): stale or wrong answers, accounts or hosts left out, the wrong status or error name for
  a deactivated or taken-down account, a cursor that never ends.

The federation suite (``suites/federation``) judges a relay against the PDSes it follows, and the moderation
suite's relay tests a takedown; those are the areas the faults name. A hook returns True (or the frames it
sends instead) only when it changed something.
"""

from __future__ import annotations

from typing import Any

from atcheck.oracle.car import write_car
from atcheck.oracle.cbor import decode_strict, encode
from atcheck.oracle.varint import encode_varint
from atcheck.selfcheck.faults import (
    commit_blocks,
    flip_bit,
    frame_fault,
    higher_tid,
    join_frame,
    lower_tid,
    other_cid,
    rename_error,
    response_fault,
    rewrite_commit,
    split_frame,
    subscribe_fault,
)
from atcheck.selfcheck.proxy import Exchange, StreamContext

RELAY = "relay"
FEDERATION = ("federation",)
_SUBSCRIBE_REPOS = "/xrpc/com.atproto.sync.subscribeRepos"


# -- the combined firehose ----------------------------------------------------------------------------------


def _event(ctx: StreamContext, data: bytes) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and body of a message frame (``op: 1``) of the relay's subscribeRepos, else None."""
    if ctx.path != _SUBSCRIBE_REPOS:
        return None
    header, body = split_frame(data)
    if header.get("op") == 1 and isinstance(body, dict):
        return header, body
    return None


def _commit(ctx: StreamContext, data: bytes) -> tuple[dict[str, Any], dict[str, Any]] | None:
    found = _event(ctx, data)
    return found if found is not None and found[0].get("t") == "#commit" else None


@frame_fault("relay-commit-dropped", "firehose", RELAY, FEDERATION)
def relay_commit_dropped(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """Every third ``#commit`` the relay received is never sent on (SYNC-RELAY-01: a relay re-emits every
    valid commit of each host it follows, none dropped)."""
    if _commit(ctx, data) is None:
        return None
    count = ctx.state["commits"] = ctx.state.get("commits", 0) + 1
    return [] if count % 3 == 0 else None


@frame_fault("relay-seq-repeated", "firehose", RELAY, FEDERATION)
def relay_seq_repeated(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """Every second event of the relay repeats the ``seq`` of the one before (SYNC-ES-09: ``seq`` strictly
    increases on the relay's own stream, whatever the upstream seqs were)."""
    found = _event(ctx, data)
    if found is None or not isinstance(found[1].get("seq"), int):
        return None
    header, body = found
    last = ctx.state.get("seq")
    ctx.state["seq"] = body["seq"]
    ctx.state["events"] = ctx.state.get("events", 0) + 1
    if last is None or ctx.state["events"] % 2:
        return None
    body["seq"] = last
    return [join_frame(header, body)]


@frame_fault("relay-commit-repeated", "firehose", RELAY, FEDERATION)
def relay_commit_repeated(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """Every third ``#commit`` is sent twice, the same frame (SYNC-RELAY-01: each commit exactly once, none
    repeated; SYNC-ES-09: no seq twice)."""
    if _commit(ctx, data) is None:
        return None
    count = ctx.state["commits"] = ctx.state.get("commits", 0) + 1
    return [data, data] if count % 3 == 0 else None


@frame_fault("relay-commits-swapped", "firehose", RELAY, FEDERATION)
def relay_commits_swapped(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """Consecutive ``#commit`` events of one repo are sent in pairs, the later one first (SYNC-RELAY-03: per
    repository a relay keeps the host's order; SYNC-ES-09: ``seq`` increases). A commit waits for the next
    one of its repo (or for another event), as in a relay that buffers and flushes out of order: when the
    stream goes quiet it waits long, so the federation scene's warm-up is late too and most of its tests
    fail with this fault, not only the order test."""
    found = _commit(ctx, data)
    held: tuple[str, bytes] | None = ctx.state.pop("held", None)
    if found is None:
        return None if held is None else [held[1], data]
    repo = str(found[1].get("repo"))
    if held is None:
        ctx.state["held"] = (repo, data)
        return []
    if held[0] == repo:
        return [data, held[1]]
    ctx.state["held"] = (repo, data)  # another repo's commit: the held one goes out unswapped
    return [held[1]]


@frame_fault("relay-account-event-dropped", "firehose", RELAY, FEDERATION)
def relay_account_event_dropped(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """``#account`` events (an account deactivated or reactivated at its PDS) are never sent on (ACCT-04,
    SYNC-FH-14: status changes travel hop by hop as ``#account`` events)."""
    found = _event(ctx, data)
    return [] if found is not None and found[0].get("t") == "#account" else None


@frame_fault("relay-op-removed", "firehose", RELAY, FEDERATION)
def relay_op_removed(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """The last op of every ``#commit`` is removed, the commit left as it was (SYNC-RELAY-02: a relayed
    commit carries the upstream's ops unchanged, and its ops invert to ``prevData``)."""
    found = _commit(ctx, data)
    if found is None or not isinstance(found[1].get("ops"), list) or not found[1]["ops"]:
        return None
    header, body = found
    body["ops"] = body["ops"][:-1]
    return [join_frame(header, body)]


@frame_fault("relay-record-block-altered", "firehose", RELAY, FEDERATION)
def relay_record_block_altered(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """The record block of a ``#commit``'s create or update has one bit flipped under its old CID, so the
    blocks no longer hash to their CIDs (SYNC-RELAY-02: the upstream's blocks unchanged, verifying on their
    own; SYNC-FH-08)."""
    found = _commit(ctx, data)
    if found is None or not isinstance(found[1].get("blocks"), bytes):
        return None
    header, body = found
    records = {op.get("cid") for op in body.get("ops", []) if isinstance(op, dict)}
    root, blocks, order = commit_blocks(body["blocks"])
    victims = [c for c in order if c in records]
    if not victims:
        return None
    out = bytearray()
    car_header = encode({"roots": [root], "version": 1})
    out += encode_varint(len(car_header)) + car_header
    for cid in order:
        block = flip_bit(blocks[cid]) if cid == victims[0] else blocks[cid]
        out += encode_varint(len(cid.raw) + len(block)) + cid.raw + block
    body["blocks"] = bytes(out)
    return [join_frame(header, body)]


@frame_fault("relay-mst-node-dropped", "firehose", RELAY, FEDERATION)
def relay_mst_node_dropped(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """``#commit`` events lose the root node of the new tree from their blocks (the CAR re-written so it
    parses): the ops cannot be checked against the tree (SYNC-RELAY-02: the upstream's blocks unchanged;
    SYNC-FH-08: the diff holds the MST nodes on the path of every op)."""
    found = _commit(ctx, data)
    if found is None or not isinstance(found[1].get("blocks"), bytes):
        return None
    header, body = found
    root, blocks, order = commit_blocks(body["blocks"])
    data_root = decode_strict(blocks[root]).get("data")
    if data_root not in blocks:
        return None
    body["blocks"] = write_car([root], [(c, blocks[c]) for c in order if c != data_root])
    return [join_frame(header, body)]


@frame_fault("relay-commit-sig-flipped", "signatures", RELAY, FEDERATION)
def relay_commit_sig_flipped(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """The relayed commit carries a signature with one bit flipped (re-encoded, its CID and the event's
    ``commit`` link updated), so it no longer verifies with the account's key (SYNC-RELAY-02)."""
    found = _commit(ctx, data)
    if found is None or not isinstance(found[1].get("blocks"), bytes):
        return None
    header, body = found
    car, _, new_root = rewrite_commit(body["blocks"], lambda c: c.__setitem__("sig", flip_bit(c["sig"], 20)))
    body["blocks"], body["commit"] = car, new_root
    return [join_frame(header, body)]


@frame_fault("relay-prevdata-dropped", "firehose", RELAY, FEDERATION)
def relay_prevdata_dropped(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """``#commit`` events lose their ``prevData`` (a relay re-encoding events with an old schema), so a
    consumer can no longer check the ops against the previous tree (SYNC-RELAY-02: ``prevData`` unchanged)."""
    found = _commit(ctx, data)
    if found is None or found[1].get("prevData") is None:
        return None
    header, body = found
    del body["prevData"]
    return [join_frame(header, body)]


@frame_fault("relay-since-wrong", "revs", RELAY, FEDERATION)
def relay_since_wrong(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """``since`` of relayed ``#commit`` events is stepped back, no longer the rev of the repo's previous
    commit (SYNC-RELAY-02: ``since`` unchanged; SYNC-RELAY-03: each ``since`` the previous commit's rev)."""
    found = _commit(ctx, data)
    if found is None or not isinstance(found[1].get("since"), str):
        return None
    header, body = found
    body["since"] = lower_tid(body["since"])
    return [join_frame(header, body)]


@frame_fault("relay-rev-field-wrong", "revs", RELAY, FEDERATION)
def relay_rev_field_wrong(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """The ``rev`` field of relayed ``#commit`` events contradicts the rev of the signed commit they carry
    (SYNC-RELAY-02: ``rev`` unchanged)."""
    found = _commit(ctx, data)
    if found is None or not isinstance(found[1].get("rev"), str):
        return None
    header, body = found
    body["rev"] = higher_tid(body["rev"])
    return [join_frame(header, body)]


@frame_fault("relay-account-status-renamed", "takedowns", RELAY, FEDERATION)
def relay_account_status_renamed(ctx: StreamContext, data: bytes) -> list[bytes] | None:
    """``#account`` events of a deactivated account say ``status: "suspended"`` (ACCT-04, SYNC-FH-14: the
    relay passes on the status the account's host gave)."""
    found = _event(ctx, data)
    if found is None or found[0].get("t") != "#account" or found[1].get("status") != "deactivated":
        return None
    header, body = found
    body["status"] = "suspended"
    return [join_frame(header, body)]


@subscribe_fault("relay-cursor-ignored", "firehose", RELAY, FEDERATION)
def relay_cursor_ignored(ctx: StreamContext) -> str | None:
    """The relay's subscribeRepos ignores ``cursor``: a reconnecting consumer gets only live events, and what
    it missed is lost (SYNC-ES-12: a cursor in the window replays the persisted events, then goes on live)."""
    if ctx.path == _SUBSCRIBE_REPOS and "cursor" in ctx.query:
        return ctx.path
    return None


# -- the HTTP read side -------------------------------------------------------------------------------------


def _answer(ex: Exchange, nsid: str) -> dict[str, Any] | None:
    body = ex.json()
    return body if ex.nsid == nsid and ex.ok and isinstance(body, dict) else None


@response_fault("relay-latest-commit-stale", "revs", RELAY, FEDERATION)
def relay_latest_commit_stale(ex: Exchange) -> bool:
    """getLatestCommit at the relay answers an older commit than the last one it relayed: another CID and a
    lower rev (SYNC-HTTP-05: the current commit; SYNC-HTTP-13: mirrors follow within seconds)."""
    body = _answer(ex, "com.atproto.sync.getLatestCommit")
    if body is None or not isinstance(body.get("cid"), str) or not isinstance(body.get("rev"), str):
        return False
    body["cid"], body["rev"] = other_cid(body["cid"]), lower_tid(body["rev"])
    ex.set_json(body)
    return True


@response_fault("relay-repo-status-rev-stale", "revs", RELAY, FEDERATION)
def relay_repo_status_rev_stale(ex: Exchange) -> bool:
    """getRepoStatus at the relay answers a rev lower than the account's head (SYNC-HTTP-06: ``rev`` is the
    repo's current rev)."""
    body = _answer(ex, "com.atproto.sync.getRepoStatus")
    if body is None or not isinstance(body.get("rev"), str):
        return False
    body["rev"] = lower_tid(body["rev"])
    ex.set_json(body)
    return True


@response_fault("relay-repo-status-not-found", "xrpc", RELAY, FEDERATION)
def relay_repo_status_not_found(ex: Exchange) -> bool:
    """getRepoStatus at the relay answers ``RepoNotFound`` for an account it relays (SYNC-HTTP-06:
    ``RepoNotFound`` is for DIDs the service does not know)."""
    if _answer(ex, "com.atproto.sync.getRepoStatus") is None:
        return False
    ex.set_json({"error": "RepoNotFound", "message": "Repo not found"}, 404)
    return True


@response_fault("relay-inactive-shown-active", "takedowns", RELAY, ("federation", "moderation"))
def relay_inactive_shown_active(ex: Exchange) -> bool:
    """getRepoStatus at the relay shows a deactivated or taken-down account as active, with no status
    (ACCT-10: a relay follows the hosting status of the accounts it relays)."""
    body = _answer(ex, "com.atproto.sync.getRepoStatus")
    if body is None or body.get("active") is not False:
        return False
    body["active"] = True
    body.pop("status", None)
    ex.set_json(body)
    return True


@response_fault("relay-deactivated-error-renamed", "takedowns", RELAY, FEDERATION)
def relay_deactivated_error_renamed(ex: Exchange) -> bool:
    """The relay refuses a deactivated account's repo with ``RepoNotFound`` instead of ``RepoDeactivated``
    (SYNC-HTTP-03: the Lexicon's error names say why a repo is unavailable)."""
    return ex.status >= 400 and rename_error(ex, "RepoDeactivated", "RepoNotFound")


@response_fault("relay-takendown-error-renamed", "takedowns", RELAY, ("moderation",))
def relay_takendown_error_renamed(ex: Exchange) -> bool:
    """The relay refuses a taken-down account's repo with ``RepoNotFound`` instead of ``RepoTakendown``
    (SYNC-HTTP-03)."""
    return ex.status >= 400 and rename_error(ex, "RepoTakendown", "RepoNotFound")


@response_fault("relay-list-repos-repo-dropped", "lists", RELAY, FEDERATION)
def relay_list_repos_repo_dropped(ex: Exchange) -> bool:
    """listRepos at the relay leaves out the last account of every page (SYNC-HTTP-07: every repo the relay
    holds is listed)."""
    body = _answer(ex, "com.atproto.sync.listRepos")
    if body is None or not isinstance(body.get("repos"), list) or not body["repos"]:
        return False
    body["repos"] = body["repos"][:-1]
    ex.set_json(body)
    return True


@response_fault("relay-list-repos-head-wrong", "lists", RELAY, FEDERATION)
def relay_list_repos_head_wrong(ex: Exchange) -> bool:
    """listRepos at the relay names, for each account, a ``head`` that is not its latest commit
    (SYNC-HTTP-07: ``head`` is the repo's current commit CID)."""
    body = _answer(ex, "com.atproto.sync.listRepos")
    repos = body.get("repos") if body is not None else None
    heads = [r for r in repos if isinstance(r, dict) and isinstance(r.get("head"), str)] if repos else []
    if body is None or not heads:
        return False
    for repo in heads:
        repo["head"] = other_cid(repo["head"])
    ex.set_json(body)
    return True


@response_fault("relay-list-repos-cursor-loops", "lists", RELAY, FEDERATION)
def relay_list_repos_cursor_loops(ex: Exchange) -> bool:
    """listRepos at the relay never ends: its last page carries a cursor that starts the listing over
    (SYNC-HTTP-14: a page without a cursor is the last one; SYNC-HTTP-07)."""
    body = _answer(ex, "com.atproto.sync.listRepos")
    if body is None or body.get("cursor"):
        return False
    body["cursor"] = "0"
    ex.set_json(body)
    return True


@response_fault("relay-list-hosts-host-dropped", "lists", RELAY, FEDERATION)
def relay_list_hosts_host_dropped(ex: Exchange) -> bool:
    """listHosts at the relay leaves out the first host of every page (SYNC-HTTP-11: the hosts a relay
    follows are listed)."""
    body = _answer(ex, "com.atproto.sync.listHosts")
    if body is None or not isinstance(body.get("hosts"), list) or not body["hosts"]:
        return False
    body["hosts"] = body["hosts"][1:]
    ex.set_json(body)
    return True


@response_fault("relay-list-hosts-seq-stale", "lists", RELAY, FEDERATION)
def relay_list_hosts_seq_stale(ex: Exchange) -> bool:
    """listHosts at the relay names, for each host, a ``seq`` one below the last one the relay consumed
    (SYNC-HTTP-11: a host's ``seq`` is the relay's place in its stream)."""
    body = _answer(ex, "com.atproto.sync.listHosts")
    hosts = body.get("hosts") if body is not None else None
    counted = [h for h in hosts if isinstance(h, dict) and isinstance(h.get("seq"), int)] if hosts else []
    if body is None or not counted:
        return False
    for host in counted:
        host["seq"] -= 1
    ex.set_json(body)
    return True


@response_fault("relay-host-status-offline", "xrpc", RELAY, FEDERATION)
def relay_host_status_offline(ex: Exchange) -> bool:
    """getHostStatus and listHosts call every active host ``offline`` (SYNC-HTTP-11: ``hostStatus`` says
    whether the relay is following the host; one it is consuming events from is active)."""
    body = ex.json()
    if not ex.ok or not isinstance(body, dict):
        return False
    if ex.nsid == "com.atproto.sync.getHostStatus" and body.get("status") == "active":
        body["status"] = "offline"
    elif ex.nsid == "com.atproto.sync.listHosts" and isinstance(body.get("hosts"), list):
        active = [h for h in body["hosts"] if isinstance(h, dict) and h.get("status") == "active"]
        if not active:
            return False
        for host in active:
            host["status"] = "offline"
    else:
        return False
    ex.set_json(body)
    return True
