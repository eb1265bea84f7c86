"""The relay's faults, one by one, on frames and answers built here: each changes what its docstring says,
breaks the rule it names (a relayed commit that verified no longer does), and reports a change only when it
made one (None or False on everything else: other frame types, other methods, the labeler's stream)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import atcheck.selfcheck.catalogue  # noqa: F401  (registers every fault)
from atcheck.oracle.build import build_repo
from atcheck.oracle.car import read_car
from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import CID, compute_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.inductive import verify_commit_event
from atcheck.selfcheck import relay_catalogue as rc
from atcheck.selfcheck.faults import FAULTS, join_frame, split_frame
from atcheck.selfcheck.proxy import Exchange, StreamContext

DID = "did:plc:" + "r" * 24
KEY = PrivateKey.generate("k256")
COLLECTION = "com.example.atcheck.relayed"
SUBSCRIBE = "/xrpc/com.atproto.sync.subscribeRepos"


def _commit_frame(seq: int = 7, repo: str = DID, rev: str = "3l4qyfbbfj22d") -> bytes:
    """A valid ``#commit``: one create on a repo that held one record, with every block of the new repo."""
    note = {"$type": COLLECTION, "text": "one"}
    before = build_repo(repo, {f"{COLLECTION}/a": note}, KEY)
    added = {"$type": COLLECTION, "text": "two"}
    after = build_repo(repo, {f"{COLLECTION}/a": note, f"{COLLECTION}/b": added}, KEY, rev=rev)
    body = {
        "seq": seq,
        "repo": repo,
        "rev": rev,
        "since": "3l4qyfbbfj22c",
        "commit": after.commit_cid,
        "blocks": after.car(),
        "ops": [{"action": "create", "path": f"{COLLECTION}/b", "cid": after.records[f"{COLLECTION}/b"]}],
        "prevData": before.commit["data"],
        "time": "2026-01-01T00:00:00.000Z",
        "tooBig": False,
        "blobs": [],
    }
    return join_frame({"op": 1, "t": "#commit"}, body)


def _event(kind: str, seq: int, **fields: Any) -> bytes:
    return join_frame(
        {"op": 1, "t": kind}, {"seq": seq, "did": DID, "time": "2026-01-01T00:00:00Z", **fields}
    )


def _ctx(path: str = SUBSCRIBE, **query: list[str]) -> StreamContext:
    return StreamContext("relay", path, dict(query))


def _verify(frame: bytes) -> None:
    _, body = split_frame(frame)
    verify_commit_event(
        body["blocks"],
        body["ops"],
        body.get("prevData"),
        did=body["repo"],
        signing_key=KEY.public,
        commit_cid=body["commit"],
    )


def test_the_built_commit_verifies() -> None:
    _verify(_commit_frame())


def test_every_relay_fault_is_registered_for_the_relay_with_a_rule() -> None:
    relay = [f for f in FAULTS.values() if f.role == "relay"]
    assert len(relay) >= 10
    for fault in relay:
        assert fault.doc and any(tag in fault.doc for tag in ("SYNC-", "ACCT-")), fault.name
        assert set(fault.areas) <= {"federation", "moderation"}, fault.name


# -- frames -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hook",
    [
        rc.relay_op_removed,
        rc.relay_record_block_altered,
        rc.relay_mst_node_dropped,
        rc.relay_commit_sig_flipped,
        rc.relay_prevdata_dropped,
    ],
    ids=lambda h: h.__name__,
)
def test_a_commit_fault_makes_the_relayed_commit_fail_verification(hook: Any) -> None:
    ctx = _ctx()
    changed = hook(ctx, _commit_frame())
    assert changed is not None and len(changed) == 1
    if hook is rc.relay_prevdata_dropped:
        assert (
            "prevData" not in split_frame(changed[0])[1]
        )  # nothing left to invert to: compared with the PDS's
    else:
        with pytest.raises(OracleError):
            _verify(changed[0])
    # Not a commit, or not the relay's firehose: untouched.
    assert hook(ctx, _event("#identity", 8)) is None
    assert hook(_ctx("/xrpc/com.atproto.label.subscribeLabels"), _commit_frame()) is None


def test_the_record_block_keeps_its_cid_but_not_its_hash() -> None:
    frame = _commit_frame()
    (changed,) = rc.relay_record_block_altered(_ctx(), frame) or []
    body = split_frame(changed)[1]
    with pytest.raises(OracleError):
        read_car(body["blocks"])
    unchecked = read_car(body["blocks"], verify_hashes=False).blocks
    assert set(unchecked) == set(read_car(split_frame(frame)[1]["blocks"]).blocks)


def test_the_signature_fault_readdresses_the_commit() -> None:
    frame = _commit_frame()
    original = split_frame(frame)[1]
    (changed,) = rc.relay_commit_sig_flipped(_ctx(), frame) or []
    body = split_frame(changed)[1]
    assert body["commit"] != original["commit"] and read_car(body["blocks"]).roots == [body["commit"]]


def test_every_third_commit_is_dropped_and_other_events_pass() -> None:
    ctx = _ctx()
    results = [rc.relay_commit_dropped(ctx, _commit_frame(seq=i)) for i in range(1, 7)]
    assert results == [None, None, [], None, None, []]
    assert rc.relay_commit_dropped(ctx, _event("#account", 9, active=True)) is None


def test_every_second_event_repeats_the_seq_before() -> None:
    ctx = _ctx()
    out = []
    for seq in (10, 11, 12, 13):
        changed = rc.relay_seq_repeated(ctx, _event("#identity", seq))
        out.append(None if changed is None else split_frame(changed[0])[1]["seq"])
    assert out == [None, 10, None, 12]
    error = join_frame({"op": -1}, {"error": "FutureCursor"})
    assert rc.relay_seq_repeated(ctx, error) is None


def test_commits_of_one_repo_are_swapped_in_pairs() -> None:
    ctx = _ctx()
    first, second = _commit_frame(seq=1), _commit_frame(seq=2)
    assert rc.relay_commits_swapped(ctx, first) == []  # held
    assert rc.relay_commits_swapped(ctx, second) == [second, first]
    other_repo = _commit_frame(seq=3, repo="did:plc:" + "s" * 24)
    third = _commit_frame(seq=4)
    assert rc.relay_commits_swapped(ctx, third) == []
    assert rc.relay_commits_swapped(ctx, other_repo) == [third]  # another repo: sent in order
    identity = _event("#identity", 5)
    assert rc.relay_commits_swapped(ctx, identity) == [other_repo, identity]  # the held one is not lost
    assert rc.relay_commits_swapped(ctx, _event("#identity", 6)) is None


def test_account_events_are_dropped_and_nothing_else() -> None:
    ctx = _ctx()
    assert (
        rc.relay_account_event_dropped(ctx, _event("#account", 1, active=False, status="deactivated")) == []
    )
    assert rc.relay_account_event_dropped(ctx, _event("#identity", 2)) is None
    assert rc.relay_account_event_dropped(ctx, _commit_frame(seq=3)) is None


def test_the_op_removed_leaves_the_commit_alone() -> None:
    frame = _commit_frame()
    (changed,) = rc.relay_op_removed(_ctx(), frame) or []
    before, after = split_frame(frame)[1], split_frame(changed)[1]
    assert after["ops"] == [] and after["commit"] == before["commit"] and after["blocks"] == before["blocks"]
    assert rc.relay_op_removed(_ctx(), changed) is None  # no op left to remove: no change


def test_a_cursor_is_dropped_from_the_subscription_only_when_given() -> None:
    assert rc.relay_cursor_ignored(_ctx(cursor=["5"])) == SUBSCRIBE
    assert rc.relay_cursor_ignored(_ctx()) is None
    assert rc.relay_cursor_ignored(_ctx("/xrpc/com.atproto.label.subscribeLabels", cursor=["5"])) is None


# -- HTTP answers -------------------------------------------------------------------------------------------


def _exchange(nsid: str, body: Any, status: int = 200) -> Exchange:
    ex = Exchange("relay", "GET", f"/xrpc/{nsid}", {}, {}, b"")
    ex.set_json(body, status)
    return ex


HEAD = str(compute_cid(encode({"head": 1})))
REV = "3l4qyfbbfj22d"


def _changes(hook: Any, ex: Exchange) -> Any:
    before = ex.json()
    assert hook(ex) is True
    assert ex.json() != before
    return ex.json()


def test_latest_commit_goes_stale() -> None:
    body = _changes(
        rc.relay_latest_commit_stale, _exchange("com.atproto.sync.getLatestCommit", {"cid": HEAD, "rev": REV})
    )
    assert body["cid"] != HEAD and body["rev"] < REV
    assert not rc.relay_latest_commit_stale(
        _exchange("com.atproto.sync.getRepoStatus", {"cid": HEAD, "rev": REV})
    )
    refused = {"error": "RepoNotFound", "message": "no"}
    assert not rc.relay_latest_commit_stale(_exchange("com.atproto.sync.getLatestCommit", refused, 404))


def test_repo_status_rev_goes_stale() -> None:
    ex = _exchange("com.atproto.sync.getRepoStatus", {"did": DID, "active": True, "rev": REV})
    assert _changes(rc.relay_repo_status_rev_stale, ex)["rev"] < REV
    inactive = {"did": DID, "active": False, "status": "deactivated"}
    assert not rc.relay_repo_status_rev_stale(_exchange("com.atproto.sync.getRepoStatus", inactive))


def test_an_inactive_account_is_shown_active() -> None:
    inactive = {"did": DID, "active": False, "status": "takendown"}
    body = _changes(rc.relay_inactive_shown_active, _exchange("com.atproto.sync.getRepoStatus", inactive))
    assert body == {"did": DID, "active": True}
    active = {"did": DID, "active": True, "rev": REV}
    assert not rc.relay_inactive_shown_active(_exchange("com.atproto.sync.getRepoStatus", active))


@pytest.mark.parametrize(
    ("hook", "name"),
    [
        (rc.relay_deactivated_error_renamed, "RepoDeactivated"),
        (rc.relay_takendown_error_renamed, "RepoTakendown"),
    ],
)
def test_an_unavailable_repo_is_called_not_found(hook: Any, name: str) -> None:
    ex = _exchange("com.atproto.sync.getLatestCommit", {"error": name, "message": "m"}, 400)
    assert _changes(hook, ex)["error"] == "RepoNotFound" and ex.status == 400
    assert not hook(_exchange("com.atproto.sync.getLatestCommit", {"error": "RepoNotFound"}, 404))
    assert not hook(_exchange("com.atproto.sync.getLatestCommit", {"cid": HEAD, "rev": REV}))


def _repos(count: int, cursor: str | None = None) -> dict[str, Any]:
    repos = [{"did": f"did:plc:{i:024d}", "head": HEAD, "rev": REV, "active": True} for i in range(count)]
    return {"repos": repos, **({"cursor": cursor} if cursor else {})}


def test_list_repos_faults() -> None:
    body = _changes(rc.relay_list_repos_repo_dropped, _exchange("com.atproto.sync.listRepos", _repos(3)))
    assert [r["did"] for r in body["repos"]] == [r["did"] for r in _repos(2)["repos"]]
    assert not rc.relay_list_repos_repo_dropped(_exchange("com.atproto.sync.listRepos", _repos(0)))

    body = _changes(rc.relay_list_repos_head_wrong, _exchange("com.atproto.sync.listRepos", _repos(2)))
    assert all(r["head"] != HEAD for r in body["repos"])
    assert not rc.relay_list_repos_head_wrong(_exchange("com.atproto.sync.listRepos", _repos(0)))

    assert _changes(rc.relay_list_repos_cursor_loops, _exchange("com.atproto.sync.listRepos", _repos(2)))[
        "cursor"
    ]
    assert not rc.relay_list_repos_cursor_loops(_exchange("com.atproto.sync.listRepos", _repos(2, "12")))
    assert not rc.relay_list_repos_cursor_loops(_exchange("com.atproto.sync.listHosts", {"hosts": []}))


def test_list_hosts_and_host_status_faults() -> None:
    hosts = {"hosts": [{"hostname": "localhost:1", "seq": 5, "status": "active"}]}
    assert _changes(rc.relay_list_hosts_host_dropped, _exchange("com.atproto.sync.listHosts", hosts)) == {
        "hosts": []
    }
    assert not rc.relay_list_hosts_host_dropped(_exchange("com.atproto.sync.listHosts", {"hosts": []}))

    body = _changes(
        rc.relay_host_status_offline, _exchange("com.atproto.sync.listHosts", json.loads(json.dumps(hosts)))
    )
    assert body["hosts"][0]["status"] == "offline"
    status = {"hostname": "localhost:1", "seq": 5, "status": "active"}
    assert (
        _changes(rc.relay_host_status_offline, _exchange("com.atproto.sync.getHostStatus", status))["status"]
        == "offline"
    )
    assert not rc.relay_host_status_offline(
        _exchange("com.atproto.sync.getHostStatus", {**status, "status": "idle"})
    )
    assert not rc.relay_host_status_offline(_exchange("com.atproto.sync.listRepos", _repos(1)))


def test_cids_in_the_test_are_links() -> None:
    """The built frame carries CID links (not strings), as a relay's DAG-CBOR does."""
    body = split_frame(_commit_frame())[1]
    assert isinstance(body["commit"], CID) and isinstance(body["ops"][0]["cid"], CID)


def test_every_third_commit_is_sent_twice() -> None:
    ctx = _ctx()
    frames = [_commit_frame(seq=i) for i in range(1, 4)]
    assert [rc.relay_commit_repeated(ctx, f) for f in frames] == [None, None, [frames[2], frames[2]]]
    assert rc.relay_commit_repeated(ctx, _event("#identity", 4)) is None


@pytest.mark.parametrize(
    ("hook", "field"),
    [(rc.relay_since_wrong, "since"), (rc.relay_rev_field_wrong, "rev")],
    ids=["since", "rev"],
)
def test_a_rev_field_of_the_event_is_changed_and_nothing_else(hook: Any, field: str) -> None:
    frame = _commit_frame()
    (changed,) = hook(_ctx(), frame) or []
    before, after = split_frame(frame)[1], split_frame(changed)[1]
    assert after[field] != before[field]
    assert {k: v for k, v in after.items() if k != field} == {k: v for k, v in before.items() if k != field}
    assert hook(_ctx(), _event("#identity", 8)) is None


def test_a_deactivated_account_event_is_renamed() -> None:
    ctx = _ctx()
    (changed,) = (
        rc.relay_account_status_renamed(ctx, _event("#account", 1, active=False, status="deactivated")) or []
    )
    assert split_frame(changed)[1]["status"] == "suspended"
    assert rc.relay_account_status_renamed(ctx, _event("#account", 2, active=True)) is None
    assert rc.relay_account_status_renamed(ctx, _commit_frame(seq=3)) is None


def test_repo_status_is_refused_as_not_found() -> None:
    ex = _exchange("com.atproto.sync.getRepoStatus", {"did": DID, "active": True, "rev": REV})
    assert _changes(rc.relay_repo_status_not_found, ex)["error"] == "RepoNotFound" and ex.status == 404
    refused = _exchange("com.atproto.sync.getRepoStatus", {"error": "RepoNotFound"}, 404)
    assert not rc.relay_repo_status_not_found(refused)


def test_list_hosts_seq_goes_stale() -> None:
    hosts = {"hosts": [{"hostname": "localhost:1", "seq": 5, "status": "active"}]}
    body = _changes(rc.relay_list_hosts_seq_stale, _exchange("com.atproto.sync.listHosts", hosts))
    assert body["hosts"][0]["seq"] == 4
    assert not rc.relay_list_hosts_seq_stale(_exchange("com.atproto.sync.listHosts", {"hosts": []}))
    assert not rc.relay_list_hosts_seq_stale(_exchange("com.atproto.sync.getHostStatus", hosts["hosts"][0]))
