"""Labels of any shape the schema allows are signed over exactly their DRISL-CBOR (label §Signatures).

Property-based: Hypothesis draws label values (any Unicode up to the 128-byte limit: the spec discourages
non-ASCII values but the schema allows them), subjects (a DID or a record URI) and optional ``cid``/``exp``;
the labeler makes each label, and the oracle re-encodes what ``queryLabels`` serves and checks the signature
with the ``#atproto_label`` key. A labeler whose encoder gets one length class, key order or text encoding
wrong fails here even if its usual labels verify.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.suite import SUITE_SETTINGS, ConformanceFailure, expect_equal, expect_ok
from atcheck.suite.labels import Labeler, create_labels, expect_label_signed, fresh_subject, query_labels
from atcheck.suite.oracle import PublicKey

#: Every test here checks the labeler.
pytestmark = pytest.mark.role("labeler")

_CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=128).filter(
    lambda v: len(v.encode("utf-8")) <= 128
)
labels = st.fixed_dictionaries(
    {"kind": st.sampled_from(["account", "record"]), "val": values},
    optional={"cid": st.just(_CID), "exp": st.just("2099-12-31T23:59:59.999Z"), "neg": st.just(True)},
)


@pytest.mark.requirement("LBL-SIG-01", "DM-CBOR-01")
@pytest.mark.needs("label.create", "label.query", "identity.plc")
@SUITE_SETTINGS
@given(drawn=labels)
def test_any_label_is_signed_over_its_exact_encoding(
    labeler: Labeler, labeler_key: PublicKey, drawn: dict[str, Any]
) -> None:
    spec = dict(drawn)
    uri = fresh_subject(spec.pop("kind"))
    create_labels(labeler, {"uri": uri, **spec})
    resp = query_labels(labeler, [uri])
    served = expect_ok(resp).get("labels")
    if not isinstance(served, list) or len(served) != 1 or not isinstance(served[0], dict):
        raise ConformanceFailure(f"one label served for {uri}", served, resp)
    expect_equal(served[0].get("val"), spec["val"], "the served label's val", resp)
    expect_label_signed(served[0], labeler_key, "the served label", resp)
