"""What conformance suites import: the one layer between a suite test and the harness.

A suite module imports from this package (plus pytest and hypothesis) and nothing else of atcheck, so the
harness can change beneath the suites without touching them, and every suite writes a record, reads a commit
or resolves a key the same way. A test reads as what it checks::

    from atcheck.suite import Account, expect_equal, note, read_record, write_record

    @pytest.mark.requirement("REPO-REC-01")
    @pytest.mark.needs("repo.write", "repo.read")
    def test_a_put_record_reads_back(module_account: Account) -> None:
        written = write_record(module_account, note("hi"), rkey="k1")
        got = expect_ok(read_record(module_account, "k1"))
        expect_equal(got["cid"], written.cid, "getRecord's cid")

- :mod:`atcheck.suite.records`: record values and keys; write (checked), put, read, delete (raw).
- :mod:`atcheck.suite.commits`: the latest commit of a repo.
- :mod:`atcheck.suite.identity`: the DID document at the PLC and its ``#atproto`` key.
- :mod:`atcheck.suite.firehose`: subscriptions to an event stream, every frame decoded by the oracle.
- :mod:`atcheck.suite.idle`: idle subscriptions to several streams, observed over one shared window.
- :mod:`atcheck.suite.oracle`: atcheck's independent checks (CID, CAR, MST, repos, keys, identifiers).
- :mod:`atcheck.suite.blobs`: uploadBlob (checked), the CID a blob must have, getBlob, listBlobs paged.
- :mod:`atcheck.suite.plc`: did:plc identities of the suite's own, operations sent to a directory, verdicts.
- :func:`oracle_verdict`: an oracle finding inside it becomes a conformance failure naming the request.
- :mod:`atcheck.suite.upstream`: the hostile upstream (a PDS emulator) fed to a relay target, with verdicts.
- :data:`SUITE_SETTINGS`: the Hypothesis settings of property-based suites.
- The checks (``expect_ok``, ``expect_error``...) of :mod:`atcheck.checks`, accounts, and XRPC clients.
"""

from __future__ import annotations

from atcheck.accounts import Account, fresh_handle
from atcheck.baseline import case_tag
from atcheck.checks import (
    ConformanceFailure,
    expect,
    expect_content_type,
    expect_equal,
    expect_error,
    expect_ok,
    expect_status,
    expect_valid,
)
from atcheck.schema.registry import lexicon_schema
from atcheck.suite.commits import LatestCommit, latest_commit
from atcheck.suite.firehose import (
    Frame,
    History,
    StreamFailure,
    Subscription,
    Write,
    check_diff_blocks,
    frame_commit,
    message_errors,
    read_blocks,
    subscribe,
    verify_commit_frame,
    verify_sync_frame,
)
from atcheck.suite.identity import DID_DOC_TYPES, atproto_key, did_document, document_entry, xrpc_origin
from atcheck.suite.idle import IdleObservation, observe_idle
from atcheck.suite.properties import SUITE_SETTINGS
from atcheck.suite.records import (
    COLLECTION,
    WrittenRecord,
    apply_writes,
    delete_record,
    expect_absent,
    expect_stored,
    new_rkey,
    new_tid,
    note,
    put_record,
    put_record_json,
    read_record,
    record_uri,
    write_record,
)
from atcheck.suite.target import ShortWindowPds, TargetDidNotStart, TargetUnderTest, skip_under_launcher
from atcheck.suite.upstream import UPSTREAM_CASES, HostileUpstreamRun, UpstreamCase, run_hostile_upstream
from atcheck.suite.verdicts import oracle_verdict
from atcheck.xrpc.client import ParamValue, XrpcClient, XrpcResponse

__all__ = [
    "COLLECTION",
    "DID_DOC_TYPES",
    "SUITE_SETTINGS",
    "UPSTREAM_CASES",
    "Account",
    "ConformanceFailure",
    "Frame",
    "History",
    "HostileUpstreamRun",
    "IdleObservation",
    "LatestCommit",
    "ParamValue",
    "ShortWindowPds",
    "StreamFailure",
    "Subscription",
    "TargetDidNotStart",
    "TargetUnderTest",
    "UpstreamCase",
    "Write",
    "WrittenRecord",
    "XrpcClient",
    "XrpcResponse",
    "apply_writes",
    "atproto_key",
    "case_tag",
    "check_diff_blocks",
    "delete_record",
    "did_document",
    "document_entry",
    "expect",
    "expect_absent",
    "expect_content_type",
    "expect_equal",
    "expect_error",
    "expect_ok",
    "expect_status",
    "expect_stored",
    "expect_valid",
    "frame_commit",
    "fresh_handle",
    "latest_commit",
    "lexicon_schema",
    "message_errors",
    "new_rkey",
    "new_tid",
    "note",
    "observe_idle",
    "oracle_verdict",
    "put_record",
    "put_record_json",
    "read_blocks",
    "read_record",
    "record_uri",
    "run_hostile_upstream",
    "skip_under_launcher",
    "subscribe",
    "verify_commit_frame",
    "verify_sync_frame",
    "write_record",
    "xrpc_origin",
]
