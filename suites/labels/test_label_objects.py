"""Label objects as a labeler serves them (label §Schema and §Signatures; ``com.atproto.label.defs#label``).

Each test has the labeler make labels of one shape (through its ``label.create`` capability), reads them
back with ``queryLabels`` by their subject, and judges them: against the Lexicon, as full protocol objects
(``ver`` and ``sig`` are required when labels move between services), and by atcheck's oracle, which
re-encodes the schema fields in DRISL-CBOR and checks ``sig`` against the ``#atproto_label`` key of the
labeler's DID document at the PLC. Each subject is fresh, so a query sees only that test's labels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atcheck.suite import ConformanceFailure, XrpcResponse, expect, expect_equal, expect_ok
from atcheck.suite.labels import (
    Labeler,
    create_labels,
    expect_full_label,
    expect_label_lexicon,
    expect_label_signed,
    fresh_subject,
    query_labels,
)
from atcheck.suite.oracle import PublicKey

#: Every test here checks the labeler (some of their IDs also apply to PDSes and relays).
pytestmark = pytest.mark.role("labeler")

_CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"


def _future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _instant(value: object) -> datetime:
    """A label's datetime as an instant (the syntax itself is judged by the object tests)."""
    if not isinstance(value, str):
        raise ConformanceFailure("a datetime string", value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConformanceFailure("an RFC 3339 datetime", value) from None


def _served(labeler: Labeler, uri: str) -> tuple[list[dict[str, Any]], XrpcResponse]:
    """The labels served for exactly ``uri`` by queryLabels."""
    resp = query_labels(labeler, [uri])
    labels = expect_ok(resp).get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, dict) for label in labels):
        raise ConformanceFailure("a labels array of objects", labels, resp)
    return labels, resp


#: The shapes of label a labeler makes: on an account, on a record, pinned to a version, expiring, negating.
SHAPES: dict[str, dict[str, Any]] = {
    "account": {"kind": "account", "val": "spam"},
    "record": {"kind": "record", "val": "rude"},
    "record-with-cid": {"kind": "record", "val": "misleading", "cid": _CID},
    "expiring": {"kind": "record", "val": "temporary", "exp": "future"},
    "negation": {"kind": "record", "val": "spam", "neg": True},
    "system-hide": {"kind": "account", "val": "!hide"},
    "system-takedown": {"kind": "record", "val": "!takedown"},
}


def _make(labeler: Labeler, shape: str) -> tuple[dict[str, Any], list[dict[str, Any]], XrpcResponse]:
    spec = dict(SHAPES[shape])
    uri = fresh_subject(spec.pop("kind"))
    if spec.get("exp") == "future":
        spec["exp"] = _future()
    wanted = {"uri": uri, **spec}
    create_labels(labeler, wanted)
    served, resp = _served(labeler, uri)
    expect_equal(len(served), 1, f"one label served for {uri}", resp)
    return wanted, served, resp


@pytest.mark.requirement("LBL-OBJ-01", "XRPC-HTTP-08")
@pytest.mark.needs("label.create", "label.query")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_served_labels_match_the_lexicon(labeler: Labeler, shape: str) -> None:
    """Each label object matches ``com.atproto.label.defs#label``: required fields, types, formats."""
    _, served, resp = _make(labeler, shape)
    expect_label_lexicon(served[0], "the served label", resp)


@pytest.mark.requirement("LBL-OBJ-01")
@pytest.mark.needs("label.create", "label.query")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_served_labels_are_full_protocol_objects(labeler: Labeler, shape: str) -> None:
    """``ver`` is 1 and ``sig`` is present (labels served to other services are full objects); every field
    is in its syntax; ``src`` is the labeler; the fields asked for come back unchanged."""
    wanted, served, resp = _make(labeler, shape)
    label = served[0]
    expect_full_label(label, "the served label", resp)
    expect_equal(label.get("src"), labeler.did, "the label's src (the labeler's DID)", resp)
    for name in ("uri", "val", "cid", "exp"):
        expect_equal(label.get(name), wanted.get(name), f"the label's {name}", resp)
    expect_equal(bool(label.get("neg", False)), bool(wanted.get("neg")), "the label's neg", resp)


@pytest.mark.requirement("LBL-SIG-01", "CRY-SIG-01")
@pytest.mark.needs("label.create", "label.query", "identity.plc")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_served_labels_verify_with_the_label_key(
    labeler: Labeler, labeler_key: PublicKey, shape: str
) -> None:
    """The oracle's verdict: ``sig`` is the ``#atproto_label`` key's low-S compact signature of the SHA-256
    of the label's DRISL-CBOR, built from the schema fields only (extra fields such as an ``id`` do not
    count)."""
    _, served, resp = _make(labeler, shape)
    expect_label_signed(served[0], labeler_key, "the served label", resp)


@pytest.mark.requirement("LBL-OBJ-02")
@pytest.mark.needs("label.create", "label.query")
def test_a_false_neg_is_left_out(labeler: Labeler) -> None:
    """``neg: false`` should be omitted rather than written (label §Schema: "If the neg field is false, best
    practice is to simply not include the field at all")."""
    _, served, resp = _make(labeler, "record")
    expect("neg" not in served[0], "no neg field on a label that negates nothing", served[0], resp)


@pytest.mark.requirement("LBL-LIFE-02")
@pytest.mark.needs("label.create", "label.query", "identity.plc")
def test_a_negation_names_the_same_label_with_a_later_cts(labeler: Labeler, labeler_key: PublicKey) -> None:
    """Retracting a label is a new label with the same src, uri and val, ``neg: true`` and a later
    ``cts`` (label §Lifecycle); both are signed."""
    uri = fresh_subject()
    create_labels(labeler, {"uri": uri, "val": "spam"})
    create_labels(labeler, {"uri": uri, "val": "spam", "neg": True})
    served, resp = _served(labeler, uri)
    negations = [label for label in served if label.get("neg") is True]
    originals = [label for label in served if not label.get("neg")]
    expect(len(negations) == 1, "one negation label served for the subject", served, resp)
    negation = negations[0]
    expect_label_signed(negation, labeler_key, "the negation label", resp)
    expect_equal(
        (negation.get("src"), negation.get("uri"), negation.get("val")),
        (labeler.did, uri, "spam"),
        "the negation's src, uri and val",
        resp,
    )
    for original in originals:
        expect(
            _instant(negation.get("cts")) > _instant(original.get("cts")),
            f"the negation's cts later than the label's {original.get('cts')}",
            negation.get("cts"),
            resp,
        )
