"""Whole-repository and single-record verification of CAR files served by a PDS.

:func:`verify_repo_car` is the oracle for ``com.atproto.sync.getRepo``: it reads the CAR (every block's hash
checked), checks the signed commit, walks and checks the MST, decodes every record strictly, and rebuilds
the MST from the records to confirm the commit's ``data`` root. :func:`verify_record_proof` is the oracle
for ``com.atproto.sync.getRecord``: the CAR must carry a path of nodes from the signed commit to the record,
or to the gap proving it absent.

Every problem raises :class:`~atcheck.oracle.errors.OracleError` with the block or record it concerns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from atcheck.oracle.car import Car, read_car
from atcheck.oracle.cbor import Value, check_data_model, decode_strict, encode
from atcheck.oracle.cid import CID, DAG_CBOR
from atcheck.oracle.crypto import PublicKey, verify_signature
from atcheck.oracle.errors import OracleError
from atcheck.oracle.mst import build_mst, check_repo_path, find_key, walk_mst
from atcheck.syntax import SyntaxViolation, check_did, check_tid

try:  # cbrrr's C encoder for the unsigned commit (see _unsigned_bytes); optional
    import cbrrr as _cbrrr
except ImportError:  # pragma: no cover - depends on the environment
    _cbrrr = None  # type: ignore[assignment]

__all__ = ["Commit", "RecordProof", "VerifiedRepo", "check_commit", "verify_record_proof", "verify_repo_car"]

COMMIT_FIELDS: Final = frozenset({"did", "version", "data", "rev", "prev", "sig"})
_PLC_RE: Final = re.compile(r"did:plc:[a-z2-7]{24}")


@dataclass(frozen=True)
class Commit:
    """A checked v3 commit object."""

    cid: CID
    did: str
    rev: str
    data: CID
    prev: CID | None
    sig: bytes
    unsigned_bytes: bytes = field(repr=False)
    signature_verified: bool = False


@dataclass(frozen=True)
class VerifiedRepo:
    """What :func:`verify_repo_car` established about a repository export."""

    commit: Commit
    root: CID
    """The MST root (the commit's ``data``), recomputed from the records."""
    records: dict[str, tuple[CID, Value]]
    """``"collection/rkey"`` -> (record CID, decoded record), in key order."""
    block_count: int
    mst_node_count: int
    unreferenced_blocks: int
    """Blocks in the CAR that the commit does not reach (allowed by the spec, reported for evidence)."""
    duplicate_blocks: int

    @property
    def record_count(self) -> int:
        return len(self.records)

    def record_json(self, path: str) -> Any:
        """A record in its JSON form, to compare with what getRecord/listRecords returned."""
        from atcheck.oracle.cbor import to_json

        return to_json(self.records[path][1])


@dataclass(frozen=True)
class RecordProof:
    """What :func:`verify_record_proof` established: the signed commit, and the record or its absence."""

    commit: Commit
    path: str
    cid: CID | None
    value: Value | None
    proof_nodes: list[CID]

    @property
    def exists(self) -> bool:
        return self.cid is not None


class _CommitName:
    """``commit <cid>`` for messages, formatted only when one is raised (a CID's base32 costs ~5 us)."""

    __slots__ = ("cid",)

    def __init__(self, cid: CID) -> None:
        self.cid = cid

    def __str__(self) -> str:
        return f"commit {self.cid}"


def check_commit(
    cid: CID, data: bytes, *, did: str | None = None, signing_key: PublicKey | str | None = None
) -> Commit:
    """Check a commit block: exactly the v3 fields, their types and syntax, the DID, and the signature."""
    try:
        obj = decode_strict(data)
    except OracleError as exc:
        raise exc.within(f"commit {cid}") from None
    where = _CommitName(cid)
    if not isinstance(obj, dict):
        raise OracleError(f"{where} is not a map")
    missing = sorted(COMMIT_FIELDS - set(obj))
    if missing:
        raise OracleError(f"{where} lacks {missing} ('prev' must be present, null when unused)")
    extra = sorted(set(obj) - COMMIT_FIELDS)
    if extra:
        raise OracleError(f"{where} has unexpected fields {extra}")
    if obj["version"] != 3 or isinstance(obj["version"], bool):
        raise OracleError(f"{where} has version {obj['version']!r}, not 3")
    commit_did = obj["did"]
    if not isinstance(commit_did, str):
        raise OracleError(f"{where}: 'did' is not a string")
    try:
        check_did(commit_did)
    except SyntaxViolation as exc:
        raise OracleError(f"{where}: {exc}") from None
    if commit_did.startswith("did:plc:") and not _PLC_RE.fullmatch(commit_did):
        raise OracleError(f"{where}: {commit_did!r} is not a normalised did:plc (24 chars of [a-z2-7])")
    if commit_did.startswith("did:web:") and commit_did != commit_did.lower():
        raise OracleError(f"{where}: {commit_did!r} is not a normalised (lowercase) did:web")
    if did is not None and commit_did != did:
        raise OracleError(f"{where} is for {commit_did}, not {did}")
    rev = obj["rev"]
    if not isinstance(rev, str):
        raise OracleError(f"{where}: 'rev' is not a string")
    try:
        check_tid(rev)
    except SyntaxViolation as exc:
        raise OracleError(f"{where}: rev: {exc}") from None
    root = obj["data"]
    if not isinstance(root, CID) or root.codec != DAG_CBOR:
        raise OracleError(f"{where}: 'data' is not a dag-cbor CID link")
    prev = obj["prev"]
    if prev is not None and (not isinstance(prev, CID) or prev.codec != DAG_CBOR):
        raise OracleError(f"{where}: 'prev' is neither null nor a dag-cbor CID link")
    sig = obj["sig"]
    if not isinstance(sig, bytes):
        raise OracleError(f"{where}: 'sig' is not a byte string")
    unsigned = _unsigned_bytes(obj)
    verified = False
    if signing_key is not None:
        try:
            verify_signature(signing_key, unsigned, sig)
        except OracleError as exc:
            raise exc.within(f"{where} signature") from None
        verified = True
    return Commit(cid, commit_did, rev, root, prev, sig, unsigned, verified)


def _unsigned_bytes(commit: dict[str, Value]) -> bytes:
    """The canonical DAG-CBOR of the commit without ``sig``: the bytes its signature covers.

    Through cbrrr's C encoder when installed (the same canonical bytes as :func:`encode`, which is the
    fallback; the oracle's tests compare the two). Every field is a checked scalar or CID by now.
    """
    unsigned = {k: v for k, v in commit.items() if k != "sig"}
    if _cbrrr is None:
        return encode(unsigned)
    link = _cbrrr.CID
    return bytes(
        _cbrrr.encode_dag_cbor({k: link(v.raw) if type(v) is CID else v for k, v in unsigned.items()})
    )


def _commit_of(car: Car, did: str | None, signing_key: PublicKey | str | None) -> Commit:
    root = car.roots[0]
    data = car.blocks.get(root)
    if data is None:
        raise OracleError(f"the commit block {root} named by the CAR header is not in the CAR")
    return check_commit(root, data, did=did, signing_key=signing_key)


def _decode_record(path: str, cid: CID, data: bytes | None) -> Value:
    if data is None:
        raise OracleError(f"record {path} ({cid}) is missing from the CAR")
    if cid.codec != DAG_CBOR:
        raise OracleError(f"record {path} has a CID with codec 0x{cid.codec:x}, not dag-cbor")
    try:
        # Links inside record content may be any strict CIDv1; the blessed rule binds the repo structure.
        value = decode_strict(data, blessed_links=False)
    except OracleError as exc:
        raise exc.within(f"record {path} ({cid})") from None
    if not isinstance(value, dict):
        raise OracleError(f"record {path} is not a map")
    type_ = value.get("$type")
    if not isinstance(type_, str) or not type_:
        raise OracleError(f"record {path} has no string $type")
    collection = path.partition("/")[0]
    if type_ != collection:
        raise OracleError(f"record {path} has $type {type_!r}, not its collection {collection!r}")
    try:
        check_data_model(value)
    except OracleError as exc:
        raise exc.within(f"record {path}") from None
    return value


def verify_repo_car(
    car: bytes,
    *,
    did: str | None = None,
    signing_key: PublicKey | str | None = None,
    strict_record_links: bool = True,
) -> VerifiedRepo:
    """Verify a full repository export (``sync.getRepo``); see the module docstring for what is checked.

    ``did``: the repo must be this account's. ``signing_key``: a did:key, Multikey or PublicKey (from the
    DID document's ``#atproto`` method); without one, the signature is not checked and
    ``commit.signature_verified`` is False.
    """
    parsed = read_car(car)
    commit = _commit_of(parsed, did, signing_key)
    blocks = parsed.blocks
    walk = walk_mst(commit.data, blocks.get, strict_record_links=strict_record_links)
    records: dict[str, tuple[CID, Value]] = {}
    for path, cid in walk.records:
        records[path] = (cid, _decode_record(path, cid, blocks.get(cid)))
    rebuilt, _ = build_mst({path: cid for path, (cid, _) in records.items()})
    if rebuilt != commit.data:
        raise OracleError(
            f"the MST rebuilt from the {len(records)} records has root {rebuilt}, "
            f"but the commit's data is {commit.data}"
        )
    reached = {commit.cid, *walk.nodes, *(cid for cid, _ in records.values())}
    return VerifiedRepo(
        commit=commit,
        root=commit.data,
        records=records,
        block_count=len(blocks),
        mst_node_count=len(walk.nodes),
        unreferenced_blocks=len(set(blocks) - reached),
        duplicate_blocks=parsed.duplicates,
    )


def verify_record_proof(
    car: bytes,
    did: str | None,
    collection: str,
    rkey: str,
    signing_key: PublicKey | str | None = None,
    *,
    strict_record_links: bool = True,
) -> RecordProof:
    """Verify a ``sync.getRecord`` CAR: the signed commit, then a node path to the record (or its absence).

    When the record exists its block must be in the CAR, hash-checked and strictly decoded.
    """
    path = f"{collection}/{rkey}"
    check_repo_path(path)
    parsed = read_car(car)
    commit = _commit_of(parsed, did, signing_key)
    cid, nodes = find_key(commit.data, path, parsed.blocks.get, strict_record_links=strict_record_links)
    value = None if cid is None else _decode_record(path, cid, parsed.blocks.get(cid))
    return RecordProof(commit=commit, path=path, cid=cid, value=value, proof_nodes=nodes)
