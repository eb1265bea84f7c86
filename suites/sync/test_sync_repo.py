"""Repository sync over HTTP (com.atproto.sync.*): exports that any consumer can verify from first principles.

Spec: https://atproto.com/specs/repository and https://atproto.com/specs/sync. The full export from getRepo
goes through atcheck's oracle (atcheck.oracle.repo.verify_repo_car): every block hash, the commit object and
its signature by the ``#atproto`` key of the DID document at the PLC, the MST structure and its root
recomputed from the records. Then the export must hold exactly the records this module wrote, and agree with
getLatestCommit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from atcheck.suite import (
    Account,
    ConformanceFailure,
    XrpcClient,
    XrpcResponse,
    delete_record,
    expect,
    expect_absent,
    expect_content_type,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    expect_valid,
    latest_commit,
    lexicon_schema,
    note,
    oracle_verdict,
    write_record,
)
from atcheck.suite.oracle import (
    PublicKey,
    VerifiedRepo,
    build_mst,
    cid_for_record,
    decode_tid,
    is_valid_tid,
    parse_cid,
    read_car,
    verify_record_proof,
    verify_repo_car,
)

COLLECTION = "com.example.atcheck.synced"
#: Later writes (revs, diffs) go here, so COLLECTION keeps exactly what the ``written`` fixture wrote. Record
#: keys are fixed, so the repo (and so the MST shape every proof walks) is the same in every run.
CHURN = "com.example.atcheck.churn"
#: Enough records for an MST of several layers, so proofs must carry inner nodes.
BULK = "com.example.atcheck.bulk"
BULK_COUNT = 40
CAR = "application/vnd.ipld.car"
SigningKey = Callable[[str], PublicKey]
#: How far a rev's clock may be from ours (the spec leaves "a few minutes of drift" to consumers).
REV_CLOCK_SLACK_S = 300


@dataclass
class Written:
    """The module account and what this module wrote into its repo."""

    account: Account
    records: dict[str, dict[str, Any]]  # "collection/rkey" -> the record as last written (and not deleted)
    deleted: str  # rkey of a record created and then deleted
    delete_took_effect: bool


@pytest.fixture(scope="module")
def written(module_account: Account) -> Written:
    """Creates records, updates one and deletes another: every kind of write ends up in the export.

    deleteRecord's own answer is judged by the repo suite; here only its effect counts, so that one broken
    response does not hide every sync check.
    """
    records = {f"{COLLECTION}/s{i}": note(f"record {i}", COLLECTION) for i in range(5)}
    records.update({f"{BULK}/b{i:02d}": note(f"bulk {i}", BULK) for i in range(BULK_COUNT)})
    for path, value in records.items():
        write_record(module_account, value, rkey=path.rsplit("/", 1)[1])
    records[f"{COLLECTION}/s1"] = note("record 1, updated", COLLECTION)
    write_record(module_account, records[f"{COLLECTION}/s1"], rkey="s1")
    deleted = "s4"
    delete_record(module_account, deleted, collection=COLLECTION)
    try:  # gone means getRecord says RecordNotFound: a 401 or a 500 is not evidence of a deletion
        expect_absent(module_account, deleted, collection=COLLECTION)
        gone = True
    except ConformanceFailure:
        gone = False
    if gone:
        del records[f"{COLLECTION}/{deleted}"]
    return Written(module_account, records, deleted, gone)


def get_repo(pds: XrpcClient, did: str) -> XrpcResponse:
    """getRepo's answer. Its Content-Type is judged by one test only, so that a wrong label does not hide
    whether the bytes are a good repository."""
    resp = pds.query("com.atproto.sync.getRepo", {"did": did})
    expect_status(resp, 200)
    return resp


def verified_export(
    pds: XrpcClient, written: Written, signing_key: SigningKey
) -> tuple[VerifiedRepo, XrpcResponse]:
    did = written.account.did
    resp = get_repo(pds, did)
    with oracle_verdict("a repository export that passes every oracle check", resp):
        return verify_repo_car(resp.content, did=did, signing_key=signing_key(did)), resp


# -- getRepo -----------------------------------------------------------------------------------------------


@pytest.mark.requirement("SYNC-HTTP-01", "REPO-CAR-01", "XRPC-HTTP-07")
@pytest.mark.needs("sync.get-repo", "repo.write")
def test_get_repo_serves_a_car_without_auth(pds: XrpcClient, written: Written) -> None:
    resp = get_repo(pds, written.account.did)  # pds carries no token
    expect_content_type(resp, CAR)
    with oracle_verdict("a CAR v1 file whose blocks hash to their CIDs", resp):
        car = read_car(resp.content)
    expect(len(car.roots) >= 1, "a CAR header with the commit as roots[0]", car.roots, resp)


@pytest.mark.requirement("SYNC-HTTP-04", "REPO-CAR-01", "XRPC-HTTP-07")
@pytest.mark.needs("sync.get-record", "repo.write")
def test_get_record_serves_a_car(pds: XrpcClient, written: Written) -> None:
    rkey = next(iter(written.records)).rsplit("/", 1)[1]
    params = {"did": written.account.did, "collection": COLLECTION, "rkey": rkey}
    resp = pds.query("com.atproto.sync.getRecord", params)
    expect_status(resp, 200)
    expect_content_type(resp, CAR)


@pytest.mark.requirement(
    "SYNC-HTTP-01",
    "REPO-CAR-03",
    "REPO-CAR-04",
    "REPO-COMMIT-01",
    "REPO-COMMIT-02",
    "REPO-COMMIT-06",
    "REPO-MST-02",
    "REPO-MST-03",
    "REPO-MST-04",
    "REPO-MST-05",
    "REPO-MST-07",
    "REPO-MST-08",
    "REPO-MST-12",
    "DM-CID-01",
    "CRY-SIG-01",
)
@pytest.mark.needs("sync.get-repo", "repo.write", "identity.plc")
def test_get_repo_passes_the_oracle(pds: XrpcClient, written: Written, signing_key: SigningKey) -> None:
    """Blocks, commit (v3, did, rev, data, prev, sig by the DID document's key), MST shape and root check."""
    verified, resp = verified_export(pds, written, signing_key)
    expect(verified.commit.signature_verified, "a commit signature checked against #atproto", False, resp)


@pytest.mark.requirement("REPO-MST-06")
@pytest.mark.needs("sync.get-repo", "identity.plc")
def test_a_new_repo_is_one_empty_node(pds: XrpcClient, account: Account, signing_key: SigningKey) -> None:
    """A new account's repo: a signed commit whose data is the empty MST node, the one empty node allowed."""
    resp = get_repo(pds, account.did)
    with oracle_verdict("a repository export that passes every oracle check", resp):
        verified = verify_repo_car(resp.content, did=account.did, signing_key=signing_key(account.did))
    expect_equal(verified.record_count, 0, "the number of records in a new repo", resp)
    expect_equal(
        str(verified.commit.data), str(build_mst({})[0]), "a new repo's MST root (the empty node)", resp
    )


@pytest.mark.requirement("REPO-CAR-03", "REPO-REC-01", "REPO-REC-02")
@pytest.mark.needs("sync.get-repo", "repo.write", "identity.plc")
def test_get_repo_holds_exactly_the_written_records(
    pds: XrpcClient, written: Written, signing_key: SigningKey
) -> None:
    verified, resp = verified_export(pds, written, signing_key)
    ours = {path: cid for path, (cid, _) in verified.records.items() if not path.startswith(f"{CHURN}/")}
    expect_equal(sorted(ours), sorted(written.records), "the records in the export", resp)
    for path, value in written.records.items():
        expect_equal(str(ours[path]), cid_for_record(value), f"the CID of {path} in the export", resp)
        expect_equal(verified.record_json(path), value, f"the content of {path} in the export", resp)


# -- getLatestCommit and revs ------------------------------------------------------------------------------


@pytest.mark.requirement("SYNC-HTTP-05", "REPO-CAR-02", "REPO-COMMIT-03", "SYN-CID-02")
@pytest.mark.needs("sync.get-repo", "sync.latest-commit", "repo.write", "identity.plc")
def test_latest_commit_agrees_with_the_export(
    pds: XrpcClient, written: Written, signing_key: SigningKey
) -> None:
    """getLatestCommit's cid is the export's roots[0] (the signed commit's CID); its rev is the commit's."""
    latest = latest_commit(pds, written.account.did)
    resp = latest.response
    with oracle_verdict("a blessed CID (v1, dag-cbor, sha-256, base32)", resp):
        parse_cid(latest.cid, blessed=True)
    verified, _ = verified_export(pds, written, signing_key)
    expect_equal(latest.cid, str(verified.commit.cid), "getLatestCommit's cid (the export's commit)", resp)
    expect_equal(latest.rev, verified.commit.rev, "getLatestCommit's rev (the export's commit rev)", resp)


@pytest.mark.requirement("REPO-COMMIT-04", "SYN-TID-01")
@pytest.mark.needs("sync.latest-commit", "repo.write")
def test_rev_is_a_tid_that_increases_with_every_write(pds: XrpcClient, written: Written) -> None:
    did = written.account.did
    revs: list[str] = []
    for i in range(3):
        write_record(written.account, note(f"rev step {i}", CHURN), rkey=f"rev{i}")
        latest = latest_commit(pds, did)
        resp = latest.response
        expect(is_valid_tid(latest.rev), "a rev that is a TID", latest.rev, resp)
        if revs:
            expect(
                latest.rev > revs[-1],
                f"a rev after {revs[-1]} once another write is done",
                latest.rev,
                resp,
            )
        revs.append(latest.rev)


@pytest.mark.requirement("REPO-COMMIT-05")
@pytest.mark.needs("sync.latest-commit", "repo.write")
def test_rev_follows_the_wall_clock(pds: XrpcClient, written: Written) -> None:
    write_record(written.account, note("now", CHURN), rkey="clock")
    latest = latest_commit(pds, written.account.did)
    resp = latest.response
    micros, _clock_id = decode_tid(latest.rev)
    drift = abs(micros / 1e6 - time.time())
    when = datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat(timespec="seconds")
    got = f"rev {latest.rev} = {when}, {drift:.0f} s off"
    expect(drift <= REV_CLOCK_SLACK_S, f"a rev within {REV_CLOCK_SLACK_S} s of now", got, resp)


@pytest.mark.requirement("SYNC-HTTP-02", "REPO-DIFF-01")
@pytest.mark.needs("sync.get-repo", "sync.latest-commit", "repo.write")
def test_get_repo_since_a_rev_is_a_diff_rooted_at_the_current_commit(
    pds: XrpcClient, written: Written
) -> None:
    did = written.account.did
    before = latest_commit(pds, did)
    value = note(f"after {before.rev}", CHURN)
    write_record(written.account, value, rkey="since")
    latest = latest_commit(pds, did)
    resp = pds.query("com.atproto.sync.getRepo", {"did": did, "since": before.rev})
    expect_status(resp, 200)
    with oracle_verdict("a CAR v1 file whose blocks hash to their CIDs", resp):
        car = read_car(resp.content)
    expect_equal(
        [str(c) for c in car.roots[:1]], [latest.cid], "the diff CAR's root (the current commit)", resp
    )
    expect(
        car.roots[0] in car.blocks,
        "the commit block named by roots[0] inside the diff",
        sorted(str(c) for c in car.blocks),
        resp,
    )
    expect(
        parse_cid(cid_for_record(value)) in car.blocks,
        "the record written after `since` among the diff's blocks",
        sorted(str(c) for c in car.blocks),
        resp,
    )


def _export_blocks(pds: XrpcClient, did: str) -> set[Any]:
    """The CIDs of every block of the repository's full export (the commit, MST nodes and records)."""
    resp = get_repo(pds, did)
    with oracle_verdict("a CAR v1 file whose blocks hash to their CIDs", resp):
        return set(read_car(resp.content).blocks)


@pytest.mark.requirement("REPO-DIFF-01", "REPO-DIFF-02")
@pytest.mark.needs("sync.get-repo", "sync.latest-commit", "repo.write", "repo.read")
def test_a_diff_holds_every_new_block_even_one_seen_before(pds: XrpcClient, account: Account) -> None:
    """repository §Repository Diffs: "all MST nodes in the current repo revision which did not exist in the
    previous repo revision must be included", and "if a record is created in rev C, deleted in rev F, and
    re-created in rev N, the diff "since F" must include the record block". So the diff since F holds every
    block of the export at N that the export at F lacks: the commit, new MST nodes and the re-created record,
    whose block the server has seen before."""
    did = account.did
    for i in range(6):  # a few neighbours, so the tree has nodes a change leaves untouched
        write_record(account, note(f"neighbour {i}", CHURN), rkey=f"n{i}")
    value = note("created, deleted, created again", CHURN)
    write_record(account, value, rkey="again")
    delete_record(account, "again", collection=CHURN)  # its answer is the repo suite's to judge
    expect_absent(account, "again", collection=CHURN)
    at_f = latest_commit(pds, did)
    before = _export_blocks(pds, did)
    write_record(account, value, rkey="again")
    after = _export_blocks(pds, did)
    resp = pds.query("com.atproto.sync.getRepo", {"did": did, "since": at_f.rev})
    expect_status(resp, 200)
    with oracle_verdict("a CAR v1 file whose blocks hash to their CIDs", resp):
        diff = set(read_car(resp.content).blocks)
    record = parse_cid(cid_for_record(value))
    expect(
        record in diff,
        "the re-created record's block in the diff since its deletion",
        sorted(map(str, diff)),
        resp,
    )
    missing = sorted(str(c) for c in (after - before) - diff)
    expect(
        not missing,
        "every block new since the `since` rev (commit, MST nodes, records) in the diff",
        missing,
        resp,
    )


# -- sync.getRecord proofs ---------------------------------------------------------------------------------


@pytest.mark.requirement("SYNC-HTTP-04")
@pytest.mark.needs("sync.get-record", "repo.write", "identity.plc")
def test_get_record_proves_each_record(pds: XrpcClient, written: Written, signing_key: SigningKey) -> None:
    """For every record written: a CAR with the signed commit and the MST path down to the record block."""
    did = written.account.did
    key = signing_key(did)
    for path, value in written.records.items():
        collection, rkey = path.split("/")
        resp = pds.query("com.atproto.sync.getRecord", {"did": did, "collection": collection, "rkey": rkey})
        expect_status(resp, 200)
        with oracle_verdict(f"a proof of {path} from a signed commit", resp):
            proof = verify_record_proof(resp.content, did, collection, rkey, key)
        expect(proof.exists, f"the proof to reach {path}", "a proof of absence", resp)
        expect_equal(str(proof.cid), cid_for_record(value), f"the proven CID of {path}", resp)


@pytest.mark.requirement("REPO-REC-02", "SYNC-HTTP-04")
@pytest.mark.needs("sync.get-record", "repo.write", "identity.plc")
def test_get_record_of_a_deleted_record_proves_absence_or_is_not_found(
    pds: XrpcClient, written: Written, signing_key: SigningKey
) -> None:
    """No tombstone: a verified proof that the key is absent, or RecordNotFound (the Lexicon allows both)."""
    did = written.account.did
    expect(
        written.delete_took_effect,
        f"deleteRecord to remove {written.deleted} (getRecord then answers RecordNotFound)",
        "another answer",
    )
    params = {"did": did, "collection": COLLECTION, "rkey": written.deleted}
    resp = pds.query("com.atproto.sync.getRecord", params)
    if resp.status != 200:
        expect_error(resp, (400, 404), "RecordNotFound")
        return
    with oracle_verdict("a proof of absence from a signed commit", resp):
        proof = verify_record_proof(resp.content, did, COLLECTION, written.deleted, signing_key(did))
    expect(not proof.exists, f"the deleted record {written.deleted} to be absent", str(proof.cid), resp)


# -- repo listings and status -----------------------------------------------------------------------------

#: Small pages, so that paging itself is exercised even on a server with a handful of accounts.
LIST_REPOS_LIMIT = 5


@pytest.mark.requirement("SYNC-HTTP-07", "SYNC-HTTP-14", "XRPC-HTTP-08")
@pytest.mark.needs("sync.latest-commit", "repo.write")
def test_list_repos_reports_each_repo_once_with_its_current_head(pds: XrpcClient, written: Written) -> None:
    """Paging listRepos to the end lists every hosted repo once; ours shows the head getLatestCommit gives."""
    did = written.account.did
    latest = latest_commit(pds, did)
    schema = lexicon_schema("com.atproto.sync.listRepos", "output")
    seen: list[str] = []
    ours: dict[str, Any] | None = None
    cursor: str | None = None
    for _ in range(1000):  # a bound, not an expectation: a cursor that never ends is a failure below
        resp = pds.query("com.atproto.sync.listRepos", {"limit": LIST_REPOS_LIMIT, "cursor": cursor})
        page = expect_ok(resp)
        expect_valid(page, schema, "the listRepos output", resp)
        repos = page["repos"]
        expect(
            len(repos) <= LIST_REPOS_LIMIT,
            f"at most limit={LIST_REPOS_LIMIT} repos per page",
            len(repos),
            resp,
        )
        for repo in repos:
            seen.append(repo["did"])
            if repo["did"] == did:
                ours = repo
        next_cursor = page.get("cursor")
        if next_cursor is None:
            break
        expect(next_cursor != cursor, "a cursor that moves on", next_cursor, resp)
        cursor = next_cursor
    else:
        raise ConformanceFailure("listRepos paging to end", "the cursor never ran out")
    duplicates = sorted({d for d in seen if seen.count(d) > 1})
    expect(not duplicates, "each repo listed once across pages", duplicates)
    if ours is None:
        raise ConformanceFailure(f"{did} among the listed repos", f"{len(seen)} other repos")
    expect_equal(ours["head"], latest.cid, f"listRepos' head for {did} (getLatestCommit's cid)")
    expect_equal(ours["rev"], latest.rev, f"listRepos' rev for {did} (getLatestCommit's rev)")
    expect(ours.get("active", True) is True, "an active repo not listed as inactive", ours)


@pytest.mark.requirement("SYNC-HTTP-06", "XRPC-HTTP-08")
@pytest.mark.needs("sync.latest-commit", "repo.write")
def test_repo_status_of_an_active_account(pds: XrpcClient, written: Written) -> None:
    """getRepoStatus: ``{did, active: true}`` and the current ``rev`` (given only for active repos)."""
    did = written.account.did
    latest = latest_commit(pds, did)
    resp = pds.query("com.atproto.sync.getRepoStatus", {"did": did})
    got = expect_ok(resp)
    expect_valid(
        got, lexicon_schema("com.atproto.sync.getRepoStatus", "output"), "getRepoStatus output", resp
    )
    expect_equal(got["did"], did, "getRepoStatus' did", resp)
    expect_equal(got["active"], True, "getRepoStatus' active flag", resp)
    expect("status" not in got, "no status for an active account", got.get("status"), resp)
    if "rev" in got:
        expect_equal(got["rev"], latest.rev, "getRepoStatus' rev (getLatestCommit's rev)", resp)


# -- errors ------------------------------------------------------------------------------------------------

_UNKNOWN_DID = "did:plc:" + "a" * 12 + "2" * 12  # well-formed, never registered


@pytest.mark.requirement("SYNC-HTTP-03", "XRPC-ERR-02")
@pytest.mark.needs("sync.get-repo", "sync.latest-commit", "xrpc.errors")
@pytest.mark.parametrize(
    "nsid", ["com.atproto.sync.getRepo", "com.atproto.sync.getLatestCommit", "com.atproto.sync.getRecord"]
)
def test_unknown_repo_is_repo_not_found(pds: XrpcClient, nsid: str) -> None:
    params = (
        {"did": _UNKNOWN_DID, "collection": COLLECTION, "rkey": "s0"}
        if nsid.endswith("getRecord")
        else {"did": _UNKNOWN_DID}
    )
    expect_error(pds.query(nsid, params), (400, 404), "RepoNotFound")


@pytest.mark.requirement("XRPC-HTTP-05", "SYN-DID-04")
@pytest.mark.needs("sync.get-repo", "xrpc.errors")
@pytest.mark.parametrize(
    "did", ["not-a-did", "did:PLC:aaaaaaaaaaaaaaaaaaaaaaaa", "DID:plc:aaaaaaaaaaaaaaaaaaaaaaaa"]
)
def test_get_repo_refuses_a_malformed_did(pds: XrpcClient, did: str) -> None:
    expect_error(pds.query("com.atproto.sync.getRepo", {"did": did}), 400, "InvalidRequest")
