"""The hostile script, offline: each case breaks exactly the rule it names, and honest events are honest.

The PLC is a small fake here (it records the genesis operations); the live test registers at a real one.
Every commit is checked with the oracle: honest ones verify inductively with the account's key; each
invalid one fails in the intended way, and each case whose fault lies outside the commit (rev, since,
prevData, seq, size, host) carries a commit that verifies on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atcheck.catalogue import load_catalogue
from atcheck.oracle.car import read_car
from atcheck.oracle.cbor import Value, decode_prefix, decode_strict
from atcheck.oracle.cid import CID
from atcheck.oracle.errors import OracleError
from atcheck.oracle.inductive import verify_commit_event
from atcheck.oracle.repo import check_commit
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.upstream.cases import CASES, OVERSIZE_FRAME_BYTES, build_script
from atcheck.upstream.plc import genesis_operation, plc_did
from atcheck.upstream.relay_instance import UnsupportedRelay, relay_following
from atcheck.upstream.script import Frame, Script, ScriptBuilder

PDS_URL = "http://localhost:4321"


class FakePlc:
    def __init__(self) -> None:
        self.ops: dict[str, dict[str, object]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.ops[request.url.path.lstrip("/")] = json.loads(request.content)
        return httpx.Response(200)


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[Script, FakePlc]]:
    plc = FakePlc()
    with httpx.Client(transport=httpx.MockTransport(plc)) as client:
        builder = ScriptBuilder(client, "http://plc.test", PDS_URL)
        build_script(builder)
    yield builder.script, plc


def _decode(frame: Frame) -> tuple[str, dict[str, Value]]:
    header, pos = decode_prefix(frame.data)
    body = decode_strict(frame.data[pos:])
    assert isinstance(header, dict) and isinstance(body, dict)
    kind = header["t"]
    assert isinstance(kind, str)
    return kind, body


def _verify(script: Script, plc: FakePlc, body: dict[str, Value]) -> None:
    did = body["repo"]
    assert isinstance(did, str)
    op = plc.ops[did]
    methods = op["verificationMethods"]
    assert isinstance(methods, dict)
    blocks, ops = body["blocks"], body["ops"]
    assert isinstance(blocks, bytes) and isinstance(ops, list)
    prev, commit = body.get("prevData"), body["commit"]
    assert prev is None or isinstance(prev, CID)
    assert isinstance(commit, CID)
    verify_commit_event(
        blocks,
        [o for o in ops if isinstance(o, dict)],
        prev,
        did=did,
        signing_key=methods["atproto"],
        commit_cid=commit,
    )


def _commits_before(script: Script, frame: Frame) -> list[dict[str, Value]]:
    out = []
    for f in script.frames[: script.frames.index(frame)]:
        if f.ref.kind == "#commit" and f.ref.did == frame.ref.did and f.case is None:
            out.append(_decode(f)[1])
    return out


def test_there_are_at_least_twelve_kinds_each_with_a_marked_event(built: tuple[Script, FakePlc]) -> None:
    script, _ = built
    assert len(CASES) >= 12
    assert len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert [m for m in script.marked if m.case == case.name], case.name


def test_cases_name_catalogue_requirements() -> None:
    catalogue = load_catalogue()
    assert not catalogue.unknown(r for case in CASES for r in case.requirements)
    assert all(case.requirements for case in CASES)


def test_dids_are_registered_with_the_genesis_operation_they_derive_from(
    built: tuple[Script, FakePlc],
) -> None:
    script, plc = built
    for did, op in plc.ops.items():
        assert plc_did(op) == did
    for did, repo in script.repos.items():
        ident = repo.identity
        again = genesis_operation(ident.signing_key, ident.rotation_key, ident.handle, PDS_URL)
        assert {k: v for k, v in again.items() if k != "sig"} == {
            k: v for k, v in plc.ops[did].items() if k != "sig"
        }
        services = plc.ops[did]["services"]
        assert services == {"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": PDS_URL}}


def test_honest_commits_verify_inductively_and_seq_increases(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    honest = {(r.did, r.rev) for r in script.must_forward}
    last = 0
    for frame in script.frames:
        if frame.case is None:
            assert frame.seq > last, frame
            last = frame.seq
        if frame.ref.kind == "#commit" and (frame.ref.did, frame.ref.rev) in honest:
            _verify(script, plc, _decode(frame)[1])
    assert script.sentinel == script.must_forward[-1]


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("bad-signature", "signature does not verify"),
        ("wrong-key", "signature does not verify"),
        ("ops-do-not-invert", "inverting the ops gives MST root"),
        ("missing-blocks", "is not in the event's blocks"),
    ],
)
def test_invalid_commits_fail_the_oracle_for_their_reason(
    built: tuple[Script, FakePlc], case: str, problem: str
) -> None:
    script, plc = built
    (frame,) = [f for f in script.frames if f.case == case]
    with pytest.raises(OracleError, match=problem):
        _verify(script, plc, _decode(frame)[1])


def _hostile(script: Script, case: str) -> tuple[Frame, dict[str, Value], list[dict[str, Value]]]:
    (frame,) = [f for f in script.frames if f.case == case and f.ref.kind == "#commit"]
    return frame, _decode(frame)[1], _commits_before(script, frame)


def test_rev_not_increasing_repeats_the_last_rev(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    _, body, before = _hostile(script, "rev-not-increasing")
    _verify(script, plc, body)
    assert body["rev"] == before[-1]["rev"]


def test_since_mismatch_is_only_a_wrong_since(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    _, body, before = _hostile(script, "since-mismatch")
    _verify(script, plc, body)
    assert body["since"] not in {b["rev"] for b in before}
    assert body["prevData"] == _data(before[-1])


def test_prevdata_mismatch_is_a_self_consistent_fork(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    _, body, before = _hostile(script, "prevdata-mismatch")
    _verify(script, plc, body)  # the ops invert to the commit's own prevData
    assert body["since"] == before[-1]["rev"]
    assert body["prevData"] != _data(before[-1])


def test_oversize_frame_is_a_valid_commit_over_five_megabytes(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    frame, body, _ = _hostile(script, "oversize-frame")
    assert len(frame.data) > max(5_000_000, 5 * 1024 * 1024) and frame.once
    assert len(body.pop("atcheckPadding")) == OVERSIZE_FRAME_BYTES
    _verify(script, plc, body)


def test_foreign_host_account_names_another_pds(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    frame, body, _ = _hostile(script, "foreign-host")
    _verify(script, plc, body)
    assert frame.ref.did not in script.repos
    services = plc.ops[frame.ref.did]["services"]
    assert isinstance(services, dict) and services["atproto_pds"]["endpoint"] != PDS_URL


def test_malformed_cbor_frame_does_not_decode(built: tuple[Script, FakePlc]) -> None:
    script, _ = built
    (frame,) = [f for f in script.frames if f.case == "malformed-cbor"]
    assert frame.once
    with pytest.raises(OracleError):
        _decode(frame)


def test_bad_seq_repeats_the_previous_frames_seq(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    frame, body, _ = _hostile(script, "bad-seq")
    _verify(script, plc, body)
    previous = script.frames[script.frames.index(frame) - 1]
    assert frame.seq == previous.seq and frame.once


def test_unknown_did_account_names_a_did_never_registered(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    (frame,) = [f for f in script.frames if f.case == "unknown-did-account"]
    kind, body = _decode(frame)
    assert kind == "#account" and body["active"] is True
    assert body["did"] not in plc.ops


def _data(commit_body: dict[str, Value]) -> object:
    blocks = commit_body["blocks"]
    assert isinstance(blocks, bytes)
    car = read_car(blocks)
    return check_commit(car.roots[0], car.blocks[car.roots[0]]).data


def test_a_relay_outside_a_local_process_is_refused_with_the_reason(tmp_path: Path) -> None:
    manifest = builtin_manifests()["indigo-relay"]
    plc = ServiceEndpoint(target="reference", service="plc", role=Role.PLC, url="http://127.0.0.1:1")
    with (
        pytest.raises(UnsupportedRelay, match="container launcher"),
        relay_following(manifest, "container", plc, PDS_URL, tmp_path, target_name="x"),
    ):
        pass
    with (
        pytest.raises(UnsupportedRelay, match="no relay service"),
        relay_following(builtin_manifests()["reference"], "process", plc, PDS_URL, tmp_path, target_name="x"),
    ):
        pass


def test_oversize_blocks_is_over_the_blocks_limit_only(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    frame, body, _ = _hostile(script, "oversize-blocks")
    blocks = body["blocks"]
    assert isinstance(blocks, bytes)
    assert 2_000_000 < len(blocks) < 2 * 1024 * 1024 and len(frame.data) < 5_000_000
    _verify(script, plc, body)


def test_future_rev_is_an_hour_ahead(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    _, body, before = _hostile(script, "future-rev")
    _verify(script, plc, body)
    rev = body["rev"]
    assert isinstance(rev, str) and rev > str(before[-1]["rev"])


def test_high_s_signature_is_the_twin_of_a_valid_one(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    _, body, _ = _hostile(script, "high-s-signature")
    with pytest.raises(OracleError, match="high-S"):
        _verify(script, plc, body)


def test_field_mismatch_claims_another_rev(built: tuple[Script, FakePlc]) -> None:
    script, _ = built
    _, body, _ = _hostile(script, "field-mismatch")
    blocks = body["blocks"]
    assert isinstance(blocks, bytes)
    car = read_car(blocks)
    assert check_commit(car.roots[0], car.blocks[car.roots[0]]).rev != body["rev"]


def test_sync_bad_signature_carries_only_the_commit(built: tuple[Script, FakePlc]) -> None:
    script, plc = built
    (frame,) = [f for f in script.frames if f.case == "sync-bad-signature"]
    kind, body = _decode(frame)
    assert kind == "#sync"
    blocks = body["blocks"]
    assert isinstance(blocks, bytes)
    car = read_car(blocks)
    assert list(car.blocks) == car.roots
    methods = plc.ops[frame.ref.did]["verificationMethods"]
    assert isinstance(methods, dict)
    with pytest.raises(OracleError, match="signature"):
        check_commit(car.roots[0], car.blocks[car.roots[0]], signing_key=methods["atproto"])
