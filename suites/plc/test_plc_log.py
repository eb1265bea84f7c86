"""What a did:plc directory serves about a DID agrees with itself and with the operations it accepted.

Spec: the did:plc method specification §DID Resolution, §Audit Logs, §Bulk Export, §Presentation as DID
Document. The DID document, ``/<did>/data``, ``/<did>/log``, ``/<did>/log/last``, the audit log and the bulk
export are five views of one operation log; each is checked against atcheck's own replay of that log.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from atcheck.suite import (
    ConformanceFailure,
    TargetUnderTest,
    XrpcClient,
    expect,
    expect_equal,
    oracle_verdict,
)
from atcheck.suite.oracle import parse_did_key, parse_multikey
from atcheck.suite.plc import (
    PlcIdentity,
    audit_log,
    expect_accepted,
    expect_replays,
    new_identity,
    op_cid,
    plc_json,
    sign_op,
    submit,
    update_op,
)

# The PLC directory is the subject: failures are charged to the plc, whatever other IDs a case names.
pytestmark = [pytest.mark.needs("plc.directory"), pytest.mark.role("plc")]


@pytest.fixture(scope="module")
def history(target: TargetUnderTest) -> PlcIdentity:
    """One DID with a short history: genesis, an update by key #1, and a recovery fork by key #0."""
    plc = target.client("plc")
    ident = new_identity(plc)
    update = sign_op(update_op(ident.last, alsoKnownAs=["at://second.atcheck.test"]), ident.rotation[1])
    expect_accepted(submit(plc, ident.did, update), "an update signed by rotation key #1")
    ident.ops.append(update)
    recovery = sign_op(update_op(ident.ops[0], alsoKnownAs=["at://third.atcheck.test"]), ident.rotation[0])
    expect_accepted(submit(plc, ident.did, recovery), "a recovery fork signed by rotation key #0")
    ident.ops.append(recovery)
    return ident


def _iso(value: object) -> datetime:
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ConformanceFailure("createdAt as an ISO 8601 UTC timestamp (…Z)", value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConformanceFailure("createdAt as an ISO 8601 UTC timestamp (…Z)", value) from None


@pytest.mark.requirement("ID-PLC-10")
def test_the_audit_log_lists_every_operation_with_its_metadata(plc: XrpcClient, history: PlcIdentity) -> None:
    """Each entry: the DID, the operation as sent, its CID, ``nullified`` and ``createdAt``, oldest first;
    the forked-away update stays in the audit log, marked nullified."""
    log = audit_log(plc, history.did)
    expect_equal([e.get("did") for e in log], [history.did] * 3, "the did of each audit log entry")
    expect_equal([e.get("operation") for e in log], history.ops, "the operations of the audit log, in order")
    expect_equal([e.get("cid") for e in log], [op_cid(o) for o in history.ops], "the CIDs of the audit log")
    expect_equal([e.get("nullified") for e in log], [False, True, False], "nullified of each entry")
    times = [_iso(e.get("createdAt")) for e in log]
    expect(times == sorted(times), "createdAt in non-decreasing order", [e.get("createdAt") for e in log])


@pytest.mark.requirement("ID-PLC-10", "ID-PLC-11")
def test_log_and_last_are_the_valid_chain(plc: XrpcClient, history: PlcIdentity) -> None:
    """``/<did>/log`` is the chain without nullified operations; ``/<did>/log/last`` is its last one."""
    valid = [history.ops[0], history.ops[2]]
    expect_equal(plc_json(plc, f"/{history.did}/log"), valid, "/<did>/log (the valid operations)")
    expect_equal(plc_json(plc, f"/{history.did}/log/last"), valid[-1], "/<did>/log/last")


@pytest.mark.requirement("ID-PLC-11", "ID-PLC-10")
def test_data_is_the_replayed_state(plc: XrpcClient, history: PlcIdentity) -> None:
    """``/<did>/data`` is what replaying the audit log's valid operations gives (atcheck's replay)."""
    state = expect_replays(plc, history.did)
    expect_equal(plc_json(plc, f"/{history.did}/data"), state, "/<did>/data")


@pytest.mark.requirement("ID-PLC-12", "ID-DOC-04")
def test_the_did_document_is_rendered_from_the_operation(plc: XrpcClient, history: PlcIdentity) -> None:
    """id, alsoKnownAs (as is), services as ``#<name>`` entries with type and serviceEndpoint, and a
    ``#atproto`` verification method controlled by the DID that carries the operation's key."""
    op, did = history.ops[-1], history.did
    doc = plc_json(plc, f"/{did}")
    expect_equal(doc.get("id"), did, "the DID document's id")
    expect_equal(doc.get("alsoKnownAs"), op["alsoKnownAs"], "the DID document's alsoKnownAs")
    expect(isinstance(doc.get("@context"), list), "an @context list", doc.get("@context"))
    services = doc.get("service")
    wanted = [
        {"id": f"#{name}", "type": s["type"], "serviceEndpoint": s["endpoint"]}
        for name, s in op["services"].items()
    ]
    expect_equal(services, wanted, "the DID document's service list")
    methods = doc.get("verificationMethod")
    if not isinstance(methods, list) or len(methods) != 1 or not isinstance(methods[0], dict):
        raise ConformanceFailure("one verificationMethod (the operation's atproto key)", methods)
    expect(methods[0].get("id") in ("#atproto", f"{did}#atproto"), "the method's id #atproto", methods[0])
    expect_equal(methods[0].get("controller"), did, "the #atproto method's controller")


@pytest.mark.requirement("ID-PLC-12", "CRY-KEY-01")
def test_the_atproto_key_is_rendered_as_a_multikey(plc: XrpcClient, history: PlcIdentity) -> None:
    """``#atproto`` has type Multikey and ``publicKeyMultibase`` equal to the did:key without ``did:key:``."""
    did_key = history.ops[-1]["verificationMethods"]["atproto"]
    doc = plc_json(plc, f"/{history.did}")
    method = (doc.get("verificationMethod") or [{}])[0]
    expect_equal(method.get("type"), "Multikey", "the #atproto verification method's type")
    expect_equal(
        method.get("publicKeyMultibase"), did_key[len("did:key:") :], "the #atproto publicKeyMultibase"
    )
    with oracle_verdict("a Multikey naming the same key as the operation's did:key"):
        expect_equal(parse_multikey(method["publicKeyMultibase"]), parse_did_key(did_key), "the #atproto key")


@pytest.mark.requirement("ID-PLC-10")
@pytest.mark.parametrize("suffix", ["", "/data", "/log", "/log/audit", "/log/last"])
def test_an_unknown_did_is_not_found(plc: XrpcClient, suffix: str) -> None:
    resp = plc.get(f"/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa{suffix}")
    expect_equal(resp.status, 404, f"the status of GET /<unknown did>{suffix}", resp)


@pytest.mark.requirement("ID-PLC-10", "ID-PLC-13")
def test_the_export_agrees_with_the_audit_log(plc: XrpcClient, history: PlcIdentity) -> None:
    """``/export?after=<a second before the genesis>`` (the legacy form every directory serves) holds each
    operation of the DID with the audit log's CID, createdAt and nullified flag, in the same order."""
    log = audit_log(plc, history.did)
    first = _iso(log[0]["createdAt"])
    after = (first - timedelta(seconds=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    seen: list[dict[str, object]] = []
    resp = plc.get("/export", {"after": after, "count": 1000})
    expect_equal(resp.status, 200, "the status of GET /export", resp)
    for line in resp.text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise ConformanceFailure("JSON lines from /export", line[:200], resp) from None
        if isinstance(entry, dict) and entry.get("did") == history.did:
            seen.append(entry)
    keys = ("cid", "operation", "createdAt", "nullified")
    expect_equal(
        [{k: e.get(k) for k in keys} for e in seen],
        [{k: e.get(k) for k in keys} for e in log],
        f"the export's entries for {history.did} (as in its audit log)",
        resp,
    )
