"""A labeler as the label suite drives and judges it: make labels, query them, subscribe, verify signatures.

- :func:`labeler_under_test`: the target's labeler endpoint and its DID (from the manifest, or from the
  wrapper's ``GET /atcheck/labeler`` for a labeler whose did:plc is made at start).
- :func:`create_labels`: have the labeler make, sign, store and broadcast labels (capability ``label.create``:
  the wrapper's ``POST /atcheck/labels``; the labeler's own code does the signing).
- :func:`query_labels` (``com.atproto.label.queryLabels``) and :func:`subscribe_labels`
  (``com.atproto.label.subscribeLabels``, through the event-stream client of :mod:`atcheck.suite.firehose`).
- :func:`label_key`: the ``#atproto_label`` key of the labeler's DID document, and nothing else.
- The verdicts: :func:`expect_label_lexicon` (``com.atproto.label.defs#label``), :func:`expect_full_label`
  (the protocol object: ``ver`` 1 and ``sig`` present, the syntax of every field), and
  :func:`expect_label_signed` (the oracle's signature check, :mod:`atcheck.oracle.label`).
- :func:`fresh_subject`: a subject URI no other test labels, so queries by URI see only one test's labels.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from atcheck.checks import ConformanceFailure, expect, expect_ok, expect_valid
from atcheck.oracle import did as did_oracle
from atcheck.oracle.cbor import Value
from atcheck.oracle.crypto import PrivateKey, PublicKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.label import LABEL_FIELDS, label_from_json, sign_label, signing_bytes, verify_label
from atcheck.schema.core import core_schema
from atcheck.schema.registry import default_registry, validate_message
from atcheck.suite.firehose import Frame, Subscription, subscribe
from atcheck.suite.records import new_tid
from atcheck.suite.target import TargetUnderTest
from atcheck.suite.verdicts import oracle_verdict
from atcheck.syntax import SyntaxViolation, check_at_uri, check_cid, check_datetime, check_did
from atcheck.xrpc.client import ParamValue, XrpcClient, XrpcResponse

__all__ = [
    "LABEL_FIELDS",
    "QUERY_LABELS",
    "SUBSCRIBE_LABELS",
    "CreatedLabel",
    "Frame",
    "Labeler",
    "PrivateKey",
    "Subscription",
    "create_labels",
    "expect_frame_lexicon",
    "expect_full_label",
    "expect_label_lexicon",
    "expect_label_signed",
    "fresh_subject",
    "label_from_json",
    "label_key",
    "labeler_under_test",
    "query_labels",
    "sign_label",
    "signing_bytes",
    "subscribe_labels",
]

QUERY_LABELS: Final = "com.atproto.label.queryLabels"
SUBSCRIBE_LABELS: Final = "com.atproto.label.subscribeLabels"
_LABEL_DEF: Final = "com.atproto.label.defs#label"


@dataclass(frozen=True)
class Labeler:
    """A running labeler: where it is, its DID, and the clients a test uses (they keep evidence)."""

    target: TargetUnderTest
    url: str
    did: str
    client: XrpcClient
    token: str | None

    def subscribe(self, cursor: int | None = None) -> Subscription:
        return subscribe_labels(self, cursor)


@dataclass(frozen=True)
class CreatedLabel:
    """A label the labeler says it made: its stream ``seq`` and the label (JSON form) it signed."""

    seq: int
    label: dict[str, Any]


def labeler_under_test(target: TargetUnderTest) -> Labeler:
    """The target's labeler (the test is skipped for a target without one) and its DID."""
    endpoint = target.endpoint("labeler")
    client = target.client("labeler")
    did = endpoint.did
    # A labeler whose DID is made at start names it on the wrapper that also makes labels (label.create).
    if did is None and target.manifest.supports("label.create"):
        resp = client.get("/atcheck/labeler")
        body = expect_ok(resp)
        did = body.get("did")
        expect(
            isinstance(did, str) and did.startswith("did:"),
            "the wrapper to name the labeler's DID",
            body,
            resp,
        )
    if not isinstance(did, str):
        raise ConformanceFailure("a labeler DID (the manifest's service did)", None)
    return Labeler(target, endpoint.url, did, client, endpoint.credentials.bearer_token)


def create_labels(labeler: Labeler, *labels: Mapping[str, Any]) -> list[CreatedLabel]:
    """Have the labeler make ``labels`` (each ``{uri, val, cid?, neg?, exp?, cts?}``), in order.

    Goes through the wrapper's ``POST /atcheck/labels`` (capability ``label.create``): the labeler's own
    code signs, stores and broadcasts each one.
    """
    client = labeler.client.with_token(labeler.token)
    resp = client.request("POST", "/atcheck/labels", json={"labels": [dict(label) for label in labels]})
    body = expect_ok(resp)
    made = body.get("labels")
    if not isinstance(made, list) or len(made) != len(labels):
        raise ConformanceFailure(f"{len(labels)} created label(s) from the wrapper", body, resp)
    out = []
    for item in made:
        expect(isinstance(item, dict) and isinstance(item.get("seq"), int), "{seq, label}", item, resp)
        out.append(CreatedLabel(seq=item["seq"], label=item["label"]))
    return out


def query_labels(
    labeler: Labeler,
    uri_patterns: list[str],
    *,
    sources: list[str] | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> XrpcResponse:
    """``com.atproto.label.queryLabels`` with its parameters as given (absent ones are left out)."""
    params: dict[str, ParamValue] = {"uriPatterns": uri_patterns}
    if sources is not None:
        params["sources"] = sources
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    return labeler.client.query(QUERY_LABELS, params)


def subscribe_labels(labeler: Labeler, cursor: int | None = None) -> Subscription:
    """Open ``com.atproto.label.subscribeLabels`` (use as a context manager)."""
    return subscribe(labeler.url, cursor=cursor, nsid=SUBSCRIBE_LABELS, recorder=labeler.target.recorder)


def label_key(doc: dict[str, Any], did: str) -> PublicKey:
    """The ``#atproto_label`` key of a DID document: the only key labels of ``did`` may be verified with."""
    with oracle_verdict("a k256 or p256 public key on the DID document's #atproto_label verification method"):
        return did_oracle.verification_key(doc, did, "atproto_label")


def fresh_subject(kind: str = "record") -> str:
    """A subject no other test labels: an at:// record URI (``"record"``) or a did:plc (``"account"``)."""
    did = "did:plc:" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(24))
    return did if kind == "account" else f"at://{did}/app.bsky.feed.post/{new_tid()}"


def _as_value(label: Mapping[str, Any]) -> dict[str, Value]:
    """A label as a data-model map, whether it came as JSON (``$bytes``) or out of a CBOR frame."""
    sig = label.get("sig")
    if isinstance(sig, dict) or any(isinstance(v, dict) for v in label.values()):
        return label_from_json(dict(label))
    return dict(label)


def expect_label_lexicon(label: Mapping[str, Value], what: str, resp: XrpcResponse | None = None) -> None:
    """``label`` (JSON form) matches ``com.atproto.label.defs#label``: required fields, types, formats."""
    schema = default_registry().ref_schema(_LABEL_DEF)
    expect_valid(dict(label), schema, what, resp)


def expect_full_label(label: Mapping[str, Any], what: str, resp: XrpcResponse | None = None) -> None:
    """``label`` (JSON form) is a full version-1 label as it moves between services (label §Schema).

    ``ver`` is 1 and ``sig`` present (both optional in the Lexicon, required here); ``src`` is a DID, ``uri``
    an at:// URI or a DID, ``cid`` a CID, ``cts``/``exp`` datetimes, ``val`` at most 128 bytes.
    """
    expect_valid(dict(label), core_schema("label"), what, resp)
    problems: list[str] = []
    checks = {"src": check_did, "cid": check_cid, "cts": check_datetime, "exp": check_datetime}
    for name, check in checks.items():
        value = label.get(name)
        if isinstance(value, str):
            try:
                check(value)
            except SyntaxViolation as exc:
                problems.append(f"{name}: {exc}")
    uri = label.get("uri")
    if isinstance(uri, str):
        try:
            check_did(uri) if uri.startswith("did:") else check_at_uri(uri)
        except SyntaxViolation as exc:
            problems.append(f"uri (an at:// URI or a DID): {exc}")
    val = label.get("val")
    if isinstance(val, str) and len(val.encode("utf-8")) > 128:
        problems.append(f"val is {len(val.encode('utf-8'))} bytes (at most 128)")
    if problems:
        raise ConformanceFailure(
            f"{what}: every field in its syntax (label §Schema)", "; ".join(problems), resp
        )


def expect_label_signed(
    label: Mapping[str, Any], key: PublicKey, what: str, resp: XrpcResponse | None = None
) -> None:
    """The oracle's verdict: ``label``'s ``sig`` is ``key``'s low-S signature of its DRISL-CBOR (label
    §Signatures). ``label`` may be the JSON form (queryLabels) or a frame's data-model map."""
    try:
        value = _as_value(label)
    except OracleError as exc:
        raise ConformanceFailure(f"{what} in the data model's JSON form", str(exc), resp) from None
    with oracle_verdict(f"{what} signed by the labeler's #atproto_label key", resp):
        verify_label(value, key)


def expect_frame_lexicon(frame: Frame) -> None:
    """A message frame's payload matches the ``subscribeLabels`` message its header ``t`` names."""
    t = frame.t
    if frame.op != 1 or t is None or not t.startswith("#"):
        raise frame.fail("a message frame header {op: 1, t: '#<type>'} (event-stream §Framing)", frame.header)
    errors = validate_message(frame.json(), SUBSCRIBE_LABELS, t)
    if errors:
        raise frame.fail(f"a {t} payload matching the {SUBSCRIBE_LABELS} Lexicon", "; ".join(errors[:5]))
