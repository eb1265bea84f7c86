"""Self-tests of atcheck's did:plc oracle against the rules of the did:plc spec.

Spec: did:plc §Operation Serialization, Signing, and Validation; §Key Rotation & Account Recovery. The
oracle was also checked by hand against the 20 audit-log cases of go-didplc's testdata (copied into the
did-method-plc repository as interop_tests/); those files are not vendored here.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from atcheck.oracle.cbor import encode
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.plc import (
    SigForm,
    did_for_genesis,
    genesis_hash_chars,
    genesis_op,
    is_plc_did,
    op_cid,
    replay_log,
    sign_op,
    signer_index,
    signing_bytes,
    tombstone_op,
    update_op,
    verify_audit_log,
)

KEYS = [PrivateKey.generate("k256"), PrivateKey.generate("p256")]
SIGNING = PrivateKey.generate("k256")


def _genesis(signer: int = 0) -> dict[str, object]:
    op = genesis_op([k.public for k in KEYS], SIGNING.public, "alice.test", "https://pds.test")
    return sign_op(op, KEYS[signer])


def _entries(
    ops: list[dict[str, object]], nullified: frozenset[int] = frozenset(), gap_h: float = 1.0
) -> list[dict[str, object]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "did": did_for_genesis(ops[0]),
            "operation": op,
            "cid": op_cid(op),
            "nullified": i in nullified,
            "createdAt": (start + timedelta(hours=gap_h * i))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        for i, op in enumerate(ops)
    ]


def test_signing_bytes_leave_out_sig_and_keep_a_null_prev() -> None:
    op = _genesis()
    unsigned = signing_bytes(op)
    assert b"sig" not in unsigned
    assert b"\x64prev\xf6" in unsigned  # the text key "prev", then CBOR null: present, not omitted


def test_the_signature_is_unpadded_base64url_of_compact_low_s_r_s() -> None:
    sig = _genesis()["sig"]
    assert isinstance(sig, str) and "=" not in sig and re.fullmatch(r"[A-Za-z0-9_-]{86}", sig)
    assert len(base64.urlsafe_b64decode(sig + "==")) == 64


def test_the_did_is_24_base32_chars_of_the_signed_genesis_hash() -> None:
    op = _genesis()
    did = did_for_genesis(op)
    assert re.fullmatch(r"did:plc:[a-z2-7]{24}", did)
    digest = base64.b32encode(hashlib.sha256(encode(op)).digest()).decode().lower()
    assert did == "did:plc:" + digest[:24]
    assert did_for_genesis({**op, "sig": _genesis()["sig"]}) != did  # the signature is part of the hash


def test_the_genesis_hash_chars_begin_with_the_did() -> None:
    op = _genesis()
    chars = genesis_hash_chars(op)
    assert len(chars) == 52 and did_for_genesis(op) == "did:plc:" + chars[:24]


@pytest.mark.parametrize(
    "value, ok",
    [
        ("did:plc:yk4dd2qkboz2yv6tpubpc6co", True),
        ("did:plc:yk4dd2qkboz2yv6tpubpc6c", False),  # 23
        ("did:plc:yk4dd2qkboz2yv6tpubpc6coa", False),  # 25
        ("did:plc:YK4DD2QKBOZ2YV6TPUBPC6CO", False),  # upper case
        ("did:plc:yk4dd2qkboz2yv6tpubpc6c1", False),  # 1 is not base32
        ("did:web:yk4dd2qkboz2yv6tpubpc6co", False),
        (None, False),
    ],
)
def test_is_plc_did_is_the_identifier_syntax(value: object, ok: bool) -> None:
    assert is_plc_did(value) is ok


@pytest.mark.parametrize("index", [0, 1], ids=["k256", "p256"])
def test_signer_index_names_the_rotation_key_that_signed(index: int) -> None:
    op = _genesis(index)
    assert signer_index(op, [k.public.did_key for k in KEYS]) == index


@pytest.mark.parametrize("form", ["high-s", "der", "padded"])
@pytest.mark.parametrize("index", [0, 1], ids=["k256", "p256"])
def test_non_canonical_signatures_verify_with_no_key(form: SigForm, index: int) -> None:
    op = sign_op(
        genesis_op([k.public for k in KEYS], SIGNING.public, "a.test", "https://p.test"),
        KEYS[index],
        form=form,
    )
    with pytest.raises(OracleError):
        signer_index(op, [k.public.did_key for k in KEYS])


def test_replay_follows_the_prev_chain_to_the_current_state() -> None:
    genesis = _genesis()
    update = sign_op(update_op(genesis, alsoKnownAs=["at://bob.test"]), KEYS[1])
    state = replay_log(did_for_genesis(genesis), [genesis, update])
    assert state is not None and state["alsoKnownAs"] == ["at://bob.test"]
    assert update["prev"] == op_cid(genesis)


def test_replay_refuses_a_wrong_did_a_broken_chain_and_an_outsider() -> None:
    genesis = _genesis()
    did = did_for_genesis(genesis)
    with pytest.raises(OracleError, match="hashes to"):
        replay_log("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", [genesis])
    broken = sign_op({**update_op(genesis), "prev": op_cid({"other": 1})}, KEYS[0])
    with pytest.raises(OracleError, match="prev"):
        replay_log(did, [genesis, broken])
    outsider = sign_op(update_op(genesis), SIGNING)
    with pytest.raises(OracleError, match="verifies with none"):
        replay_log(did, [genesis, outsider])


def test_a_tombstone_ends_the_chain() -> None:
    genesis = _genesis()
    tomb = sign_op(tombstone_op(genesis), KEYS[0])
    assert replay_log(did_for_genesis(genesis), [genesis, tomb]) is None
    after = sign_op({**update_op(genesis), "prev": op_cid(tomb)}, KEYS[0])
    with pytest.raises(OracleError, match="tombstone"):
        replay_log(did_for_genesis(genesis), [genesis, tomb, after])


def test_a_fork_by_a_higher_key_within_72_hours_is_a_valid_nullification() -> None:
    genesis = _genesis()
    update = sign_op(update_op(genesis, alsoKnownAs=["at://x.test"]), KEYS[1])
    fork = sign_op(update_op(genesis, alsoKnownAs=["at://y.test"]), KEYS[0])
    state = verify_audit_log(
        did_for_genesis(genesis), _entries([genesis, update, fork], frozenset({1}), gap_h=72)
    )
    assert state is not None and state["alsoKnownAs"] == ["at://y.test"]


@pytest.mark.parametrize(
    ("update_key", "fork_key", "gap_h", "problem"),
    [
        (0, 0, 1, "higher-priority"),
        (0, 1, 1, "higher-priority"),
        (1, 0, 72.01, "72 h"),
    ],
    ids=["same-key", "lower-key", "too-late"],
)
def test_nullifications_outside_the_rules_are_refused(
    update_key: int, fork_key: int, gap_h: float, problem: str
) -> None:
    genesis = _genesis()
    update = sign_op(update_op(genesis, alsoKnownAs=["at://x.test"]), KEYS[update_key])
    fork = sign_op(update_op(genesis, alsoKnownAs=["at://y.test"]), KEYS[fork_key])
    with pytest.raises(OracleError, match=problem):
        verify_audit_log(
            did_for_genesis(genesis), _entries([genesis, update, fork], frozenset({1}), gap_h=gap_h)
        )


def test_nullified_flags_must_match_the_forks() -> None:
    genesis = _genesis()
    update = sign_op(update_op(genesis, alsoKnownAs=["at://x.test"]), KEYS[1])
    with pytest.raises(OracleError, match="nullified"):
        verify_audit_log(did_for_genesis(genesis), _entries([genesis, update], frozenset({1})))
    entries = _entries([genesis, update])
    entries[1]["cid"] = op_cid(genesis)
    with pytest.raises(OracleError, match="not its operation's CID"):
        verify_audit_log(did_for_genesis(genesis), entries)
