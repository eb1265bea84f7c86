"""atcheck's independent checks, as suites use them: CIDs, CAR, MST, repositories, keys and identifiers.

Suites judge what a server sent with these, inside :func:`atcheck.suite.oracle_verdict` so that a finding
becomes a conformance failure naming the request.
"""

from __future__ import annotations

from atcheck.oracle.car import read_car
from atcheck.oracle.cbor import cid_for_record, from_json, to_json
from atcheck.oracle.cid import RAW, compute_cid, parse_cid
from atcheck.oracle.crypto import PrivateKey, PublicKey, parse_did_key, parse_multikey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.inductive import CommitOp, verify_commit_event
from atcheck.oracle.jwt import ServiceJwt, parse_jwt
from atcheck.oracle.mst import build_mst
from atcheck.oracle.repo import VerifiedRepo, verify_record_proof, verify_repo_car
from atcheck.syntax import (
    decode_tid,
    encode_tid,
    is_valid_handle,
    is_valid_record_key,
    is_valid_tid,
)

__all__ = [
    "RAW",
    "CommitOp",
    "OracleError",
    "PrivateKey",
    "PublicKey",
    "ServiceJwt",
    "VerifiedRepo",
    "build_mst",
    "cid_for_record",
    "compute_cid",
    "decode_tid",
    "encode_tid",
    "from_json",
    "is_valid_handle",
    "is_valid_record_key",
    "is_valid_tid",
    "parse_cid",
    "parse_did_key",
    "parse_jwt",
    "parse_multikey",
    "read_car",
    "to_json",
    "verify_commit_event",
    "verify_record_proof",
    "verify_repo_car",
]
