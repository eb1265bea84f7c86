"""The did:plc directory accepts exactly the operations the spec allows, and refuses every other one.

Spec: the did:plc method specification (github.com/did-method-plc/did-method-plc,
website/spec/v0.1/did-plc.md) §Operation Serialization, Signing, and Validation, §Key Rotation &
Account Recovery, §DID Deactivation.

Every identity here is the suite's own: atcheck generates the rotation keys, builds and signs each operation
with its oracle (:mod:`atcheck.oracle.plc`), and so knows the exact bytes, the CIDs and the DID before the
directory answers. A refused operation must get a 4xx answer *and* leave the DID's audit log unchanged. The
72-hour limit of the recovery window is not tested: only a directory whose clock atcheck controlled could be
made to pass it (see the catalogue row ID-PLC-08).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atcheck.suite import SUITE_SETTINGS, XrpcClient, expect, expect_equal
from atcheck.suite.plc import (
    MUTATIONS,
    PlcIdentity,
    PrivateKey,
    audit_log,
    did_for_genesis,
    ed25519_did_key,
    expect_accepted,
    expect_refused,
    expect_replays,
    genesis_op,
    new_identity,
    op_cid,
    plc_json,
    sign_op,
    submit,
    tombstone_op,
    update_op,
)

# The PLC directory is the subject: failures are charged to the plc, whatever other IDs a case names.
pytestmark = [pytest.mark.needs("plc.directory"), pytest.mark.role("plc")]


def _handle_update(plc: XrpcClient, ident: PlcIdentity, signer: int = 0, **changes: object) -> None:
    """Send a valid update (a new handle, plus ``changes``) signed by rotation key ``signer``; expect 2xx."""
    fields: dict[str, object] = {"alsoKnownAs": [f"at://n{len(ident.ops)}.{ident.did[8:20]}.test"], **changes}
    op = sign_op(update_op(ident.last, **fields), ident.rotation[signer])
    expect_accepted(submit(plc, ident.did, op), f"an update signed by rotation key #{signer}")
    ident.ops.append(op)


# -- what is accepted ----------------------------------------------------------------------------------------


@pytest.mark.requirement("ID-PLC-04", "ID-PLC-03", "CRY-ALG-01", "CRY-KEY-02")
@pytest.mark.parametrize("curve", ["k256", "p256"])
def test_a_genesis_operation_creates_the_did_it_hashes_to(plc: XrpcClient, curve: str) -> None:
    """Signed with a k256 or a p256 rotation key (low-S, compact, base64url), the genesis operation is
    accepted under ``did:plc:`` + 24 base32 characters of its sha-256, and the log holds exactly it."""
    ident = new_identity(plc, (curve,))
    expect_equal(len(ident.did), 32, "the length of a did:plc")
    log = audit_log(plc, ident.did)
    expect_equal(len(log), 1, "the number of entries in the new DID's audit log")
    expect_equal(
        log[0].get("operation"), ident.ops[0], "the stored genesis operation (byte for byte in JSON)"
    )
    expect_equal(log[0].get("cid"), op_cid(ident.ops[0]), "the audit log's cid of the genesis operation")
    expect_equal(did_for_genesis(log[0]["operation"]), ident.did, "the DID derived from the stored operation")


_TEXT = st.text(max_size=24)


@pytest.mark.requirement("ID-PLC-04", "ID-PLC-03")
@SUITE_SETTINGS
@given(
    curve=st.sampled_from(["k256", "p256"]),
    aliases=st.lists(_TEXT, max_size=3),
    services=st.dictionaries(_TEXT.filter(bool), st.tuples(_TEXT, _TEXT), max_size=3),
)
def test_any_genesis_content_hashes_the_same_at_the_directory(
    plc: XrpcClient, curve: str, aliases: list[str], services: dict[str, tuple[str, str]]
) -> None:
    """Whatever text the operation carries (any Unicode, map keys in any order), the directory derives the
    DID atcheck derives and stores the operation under atcheck's CID: both encode the same DAG-CBOR."""
    key = PrivateKey.generate("p256" if curve == "p256" else "k256")
    signing = PrivateKey.generate("k256")
    op = genesis_op([key.public], signing.public, "p.atcheck.test", "https://pds.atcheck.test")
    op["alsoKnownAs"] = aliases
    op["services"] = {name: {"type": kind, "endpoint": url} for name, (kind, url) in services.items()}
    signed = sign_op(op, key)
    did = did_for_genesis(signed)
    expect_accepted(submit(plc, did, signed), "a genesis operation with arbitrary text in its fields")
    log = audit_log(plc, did)
    expect_equal(
        [e.get("cid") for e in log], [op_cid(signed)], "the audit log's CID of the genesis operation"
    )


@pytest.mark.requirement("ID-PLC-02", "ID-PLC-07", "ID-PLC-11")
def test_updates_chain_by_prev_and_any_rotation_key_may_sign(plc: XrpcClient) -> None:
    """Each update names the CID of the operation before it; rotation keys of either curve and any
    position sign valid updates; the log replays to the state ``/<did>/data`` serves."""
    ident = new_identity(plc)
    _handle_update(plc, ident, signer=0)
    _handle_update(plc, ident, signer=1)
    log = audit_log(plc, ident.did)
    expect_equal(
        [e.get("cid") for e in log], [op_cid(op) for op in ident.ops], "the audit log's CIDs, in order"
    )
    state = expect_replays(plc, ident.did)
    expect_equal(plc_json(plc, f"/{ident.did}/data"), state, "/<did>/data (the state the log replays to)")


@pytest.mark.requirement("ID-PLC-05")
def test_verification_methods_may_be_any_did_key(plc: XrpcClient) -> None:
    """Since did:plc v0.2, ``verificationMethods`` values may be any syntactically valid did:key, e.g. an
    ed25519 key beside the atproto one (rotation keys stay k256/p256 only)."""
    ident = new_identity(plc)
    methods = {"atproto": ident.signing.public.did_key, "atcheck_ed25519": ed25519_did_key()}
    _handle_update(plc, ident, signer=0, verificationMethods=methods)
    expect_equal(
        plc_json(plc, f"/{ident.did}/data").get("verificationMethods"), methods, "verificationMethods"
    )


@pytest.mark.requirement("ID-PLC-07")
def test_rotated_out_keys_lose_their_authority(plc: XrpcClient) -> None:
    """After an update that replaces the rotation keys, only the new keys can sign; the old one is refused."""
    ident = new_identity(plc, ("k256",))
    new_key = PrivateKey.generate("p256")
    _handle_update(plc, ident, signer=0, rotationKeys=[new_key.public.did_key])
    old = sign_op(update_op(ident.last, alsoKnownAs=["at://old.atcheck.test"]), ident.rotation[0])
    expect_refused(plc, ident.did, old, "an update signed by a key the previous operation removed")
    fresh = sign_op(update_op(ident.last, alsoKnownAs=["at://new.atcheck.test"]), new_key)
    expect_accepted(submit(plc, ident.did, fresh), "an update signed by the new rotation key")


@pytest.mark.requirement("ID-PLC-08", "ID-PLC-11")
def test_a_higher_priority_key_can_fork_away_a_recent_update(plc: XrpcClient) -> None:
    """Within the recovery window, rotation key #0 rewrites history over an update signed by key #1: the
    update is marked nullified, the recovery operation is current, and the log still replays."""
    ident = new_identity(plc)
    _handle_update(plc, ident, signer=1)
    recovery = sign_op(
        update_op(ident.ops[0], alsoKnownAs=["at://recovered.atcheck.test"]), ident.rotation[0]
    )
    expect_accepted(submit(plc, ident.did, recovery), "a recovery operation by a higher-priority key")
    log = audit_log(plc, ident.did)
    nullified = {e.get("cid"): e.get("nullified") for e in log}
    expect_equal(nullified.get(op_cid(ident.ops[1])), True, "nullified of the forked-away update")
    expect_equal(nullified.get(op_cid(recovery)), False, "nullified of the recovery operation")
    state = expect_replays(plc, ident.did)
    expect(
        state is not None and state["alsoKnownAs"] == recovery["alsoKnownAs"], "the recovered state", state
    )


@pytest.mark.requirement("ID-PLC-08")
@pytest.mark.parametrize("signer", [0, 1], ids=["same-key", "lower-priority-key"])
def test_a_fork_needs_a_strictly_higher_priority_key(plc: XrpcClient, signer: int) -> None:
    """Over an update signed by key #0, neither key #0 itself nor the lower key #1 may fork history."""
    ident = new_identity(plc)
    _handle_update(plc, ident, signer=0)
    fork = sign_op(update_op(ident.ops[0], alsoKnownAs=["at://fork.atcheck.test"]), ident.rotation[signer])
    expect_refused(plc, ident.did, fork, f"a fork over a key-#0 update signed by key #{signer}")


# -- tombstones ----------------------------------------------------------------------------------------------


@pytest.mark.requirement("ID-PLC-09")
def test_a_tombstone_deactivates_the_did(plc: XrpcClient) -> None:
    """After a valid tombstone the DID no longer resolves (404 or 410) and has no current data."""
    ident = new_identity(plc)
    tomb = sign_op(tombstone_op(ident.last), ident.rotation[0])
    expect_accepted(submit(plc, ident.did, tomb), "a tombstone signed by a rotation key")
    for path in (f"/{ident.did}", f"/{ident.did}/data"):
        resp = plc.get(path)
        expect(
            resp.status in (404, 410),
            f"GET {path} of a tombstoned DID to answer 404 or 410",
            resp.status,
            resp,
        )


@pytest.mark.requirement("ID-PLC-10", "ID-PLC-09")
def test_a_tombstoned_did_answers_410(plc: XrpcClient) -> None:
    """The directory's OpenAPI description answers ``GET /<did>`` of a tombstoned DID with 410 (DID Not
    Available), telling it apart from a DID never registered (404)."""
    ident = new_identity(plc)
    expect_accepted(
        submit(plc, ident.did, sign_op(tombstone_op(ident.last), ident.rotation[0])), "a tombstone"
    )
    resp = plc.get(f"/{ident.did}")
    expect_equal(resp.status, 410, "the status of GET /<did> for a tombstoned DID", resp)


@pytest.mark.requirement("ID-PLC-09", "ID-PLC-07")
def test_nothing_but_a_recovery_follows_a_tombstone(plc: XrpcClient) -> None:
    """An update whose prev is the tombstone is refused: the tombstone ends the chain."""
    ident = new_identity(plc)
    tomb = sign_op(tombstone_op(ident.last), ident.rotation[0])
    expect_accepted(submit(plc, ident.did, tomb), "a tombstone")
    after = update_op(ident.last, alsoKnownAs=["at://after.atcheck.test"])
    after["prev"] = op_cid(tomb)
    expect_refused(plc, ident.did, sign_op(after, ident.rotation[0]), "an update following a tombstone")


@pytest.mark.requirement("ID-PLC-09", "ID-PLC-08")
def test_a_tombstone_can_be_recovered_within_the_window(plc: XrpcClient) -> None:
    """A tombstone signed by key #1 is undone by key #0 forking from the operation before it."""
    ident = new_identity(plc)
    tomb = sign_op(tombstone_op(ident.last), ident.rotation[1])
    expect_accepted(submit(plc, ident.did, tomb), "a tombstone signed by rotation key #1")
    recovery = sign_op(update_op(ident.ops[0], alsoKnownAs=["at://back.atcheck.test"]), ident.rotation[0])
    expect_accepted(submit(plc, ident.did, recovery), "a recovery of the tombstone by rotation key #0")
    doc = plc_json(plc, f"/{ident.did}")
    expect_equal(doc.get("alsoKnownAs"), recovery["alsoKnownAs"], "the recovered DID document's alsoKnownAs")


# -- what is refused -----------------------------------------------------------------------------------------


#: Each mutation of ``atcheck.suite.plc.MUTATIONS``, with the requirements its acceptance would contradict.
_MUTATION_CASES = [
    pytest.param("bad-signature", marks=pytest.mark.requirement("ID-PLC-03", "ID-PLC-07")),
    pytest.param("unknown-key", marks=pytest.mark.requirement("ID-PLC-07")),
    pytest.param("signed-by-atproto-key", marks=pytest.mark.requirement("ID-PLC-07")),
    pytest.param("key-only-in-the-new-op", marks=pytest.mark.requirement("ID-PLC-07")),
    pytest.param("unknown-prev", marks=pytest.mark.requirement("ID-PLC-07", "ID-PLC-02")),
    pytest.param("null-prev-update", marks=pytest.mark.requirement("ID-PLC-02")),
    pytest.param("high-s", marks=pytest.mark.requirement("ID-PLC-03", "CRY-SIG-02")),
    pytest.param("high-s-p256", marks=pytest.mark.requirement("ID-PLC-03", "CRY-SIG-02", "CRY-ALG-01")),
    pytest.param("der-signature", marks=pytest.mark.requirement("ID-PLC-03", "CRY-SIG-03")),
    pytest.param("padded-base64url", marks=pytest.mark.requirement("ID-PLC-03")),
    pytest.param("extra-field", marks=pytest.mark.requirement("ID-PLC-15")),  # spec silent: MAY
    pytest.param("unknown-type", marks=pytest.mark.requirement("ID-PLC-01")),
    pytest.param("genesis-did-mismatch", marks=pytest.mark.requirement("ID-PLC-04")),
    pytest.param("genesis-without-prev", marks=pytest.mark.requirement("ID-PLC-02")),
    pytest.param("genesis-signed-by-outsider", marks=pytest.mark.requirement("ID-PLC-03")),
    pytest.param("no-rotation-keys", marks=pytest.mark.requirement("ID-PLC-05")),
    pytest.param("six-rotation-keys", marks=pytest.mark.requirement("ID-PLC-05")),
    pytest.param("duplicate-rotation-keys", marks=pytest.mark.requirement("ID-PLC-05")),
    pytest.param("ed25519-rotation-key", marks=pytest.mark.requirement("ID-PLC-05")),
    pytest.param("rotation-key-not-base58btc", marks=pytest.mark.requirement("ID-PLC-05", "CRY-KEY-04")),
    pytest.param("rotation-key-off-curve", marks=pytest.mark.requirement("ID-PLC-05", "CRY-KEY-04")),
    pytest.param("rotation-key-short", marks=pytest.mark.requirement("ID-PLC-05", "CRY-KEY-04")),
    pytest.param("verification-method-not-a-did-key", marks=pytest.mark.requirement("ID-PLC-05")),
    pytest.param("eleven-verification-methods", marks=pytest.mark.requirement("ID-PLC-05")),
    pytest.param("oversized", marks=pytest.mark.requirement("ID-PLC-06")),
    pytest.param("tombstone-by-unknown-key", marks=pytest.mark.requirement("ID-PLC-07")),
]
_MUTATION_BY_NAME = {m.name: m for m in MUTATIONS}
# The suite judges every mutation the harness defines, and only those.
assert sorted(str(c.values[0]) for c in _MUTATION_CASES) == sorted(_MUTATION_BY_NAME)


@pytest.mark.parametrize("name", _MUTATION_CASES)
def test_a_mutated_operation_is_refused(plc: XrpcClient, name: str) -> None:
    """Each case is a valid operation changed in one way the spec forbids (see ``MUTATIONS``); the
    directory answers 4xx and the DID's log is unchanged."""
    mutation = _MUTATION_BY_NAME[name]
    ident = new_identity(plc)
    did, op = mutation.build(ident)
    expect_refused(plc, did, op, mutation.why)
