"""The emulated PDS's repositories: real signed commits, and the CAR slice a ``#commit`` event carries.

Each commit is prepared as a :class:`CommitDraft` (everything a ``#commit`` or ``#sync`` frame needs) and
only :meth:`EmulatedRepo.apply`-ed when it is a commit the emulator stands behind. A hostile case tampers
with a draft, or signs it with the wrong key, and never applies it, so the repo the emulator serves over
``getRepo`` stays the honest one, and the next honest commit chains from the last honest state.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from atcheck.oracle.build import sign_commit
from atcheck.oracle.car import write_car
from atcheck.oracle.cbor import Value, encode
from atcheck.oracle.cid import CID, DAG_CBOR, compute_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.inductive import CommitOp, invert_ops
from atcheck.oracle.mst import build_mst
from atcheck.upstream.plc import PlcIdentity

__all__ = ["CommitDraft", "EmulatedRepo", "TidClock", "Write", "tid"]

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"

Write = tuple[str, str, Value | None]
"""(``create`` | ``update`` | ``delete``, ``collection/rkey``, record value or None for a delete)."""


def tid(micros: int, clock_id: int = 0) -> str:
    """A TID: 53 bits of microseconds since the epoch and 10 bits of clock id, base32-sortable."""
    n = (micros << 10) | (clock_id & 0x3FF)
    return "".join(_TID_ALPHABET[(n >> (5 * i)) & 31] for i in range(12, -1, -1))


class TidClock:
    """Strictly increasing TIDs from the wall clock (revs must increase and must not be in the future)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        return tid(self._last)

    def between(self, low: str, high: str) -> str:
        """A TID strictly between two TIDs of this clock (they must be at least 2 microseconds apart)."""
        lo, hi = _tid_micros(low), _tid_micros(high)
        if hi - lo < 2:
            raise ValueError(f"no TID between {low} and {high}")
        return tid((lo + hi) // 2)


def _tid_micros(value: str) -> int:
    n = 0
    for c in value:
        n = n * 32 + _TID_ALPHABET.index(c)
    return n >> 10


@dataclass
class CommitDraft:
    """A signed commit and everything its firehose events need; tamper freely before encoding."""

    did: str
    rev: str
    since: str | None
    prev_data: CID | None
    data: CID
    commit: dict[str, Value]
    commit_cid: CID
    ops: list[dict[str, Value]]
    blocks: dict[CID, bytes]
    """The ``#commit`` CAR slice: the commit, new records, new MST nodes and the nodes inversion opens."""
    records: dict[str, tuple[CID, bytes]] = field(repr=False)
    """Every record after the commit (the repo state a later ``getRepo`` would serve if applied)."""
    nodes: dict[CID, bytes] = field(repr=False)

    def car(self) -> bytes:
        """The ``#commit`` slice as a CAR whose first root is the commit."""
        order = [self.commit_cid, *(c for c in self.blocks if c != self.commit_cid)]
        return write_car([self.commit_cid], ((c, self.blocks[c]) for c in order if c in self.blocks))

    def commit_only_car(self) -> bytes:
        """The ``#sync`` CAR: only the commit block."""
        return write_car([self.commit_cid], [(self.commit_cid, self.blocks[self.commit_cid])])

    def resign(self, commit: dict[str, Value]) -> CommitDraft:
        """The same change under a different commit object (already signed, or deliberately not)."""
        data = encode(commit)
        cid = compute_cid(data, DAG_CBOR)
        blocks = {cid: data, **{c: b for c, b in self.blocks.items() if c != self.commit_cid}}
        rev = commit.get("rev")
        return replace(
            self, commit=commit, commit_cid=cid, blocks=blocks, rev=rev if isinstance(rev, str) else self.rev
        )


class EmulatedRepo:
    """One account's repository as the emulated PDS holds it."""

    def __init__(self, identity: PlcIdentity, clock: TidClock) -> None:
        self.identity = identity
        self.clock = clock
        self.records: dict[str, tuple[CID, bytes]] = {}
        self.nodes: dict[CID, bytes] = {}
        self.head: CommitDraft | None = None
        self.history: list[CommitDraft] = []

    @property
    def did(self) -> str:
        return self.identity.did

    def prepare(
        self,
        writes: Iterable[Write],
        *,
        rev: str | None = None,
        key: PrivateKey | None = None,
        since: str | bool | None = True,
    ) -> CommitDraft:
        """A commit of ``writes`` on top of the current head (not applied). ``since=True``: the head's rev."""
        records = dict(self.records)
        ops: list[dict[str, Value]] = []
        new_records: dict[CID, bytes] = {}
        for action, path, value in writes:
            before = records.get(path)
            if action == "delete":
                if before is None:
                    raise ValueError(f"cannot delete {path}: not in the repo")
                del records[path]
                ops.append({"action": "delete", "path": path, "cid": None, "prev": before[0]})
                continue
            data = encode(value)
            cid = compute_cid(data, DAG_CBOR)
            records[path] = (cid, data)
            new_records[cid] = data
            if action == "create":
                if before is not None:
                    raise ValueError(f"cannot create {path}: already in the repo")
                ops.append({"action": "create", "path": path, "cid": cid})
            else:
                if before is None:
                    raise ValueError(f"cannot update {path}: not in the repo")
                ops.append({"action": "update", "path": path, "cid": cid, "prev": before[0]})
        root, nodes = build_mst({path: cid for path, (cid, _) in records.items()})
        head = self.head
        prev_data = head.data if head is not None else None
        unsigned: dict[str, Value] = {
            "did": self.did,
            "version": 3,
            "data": root,
            "rev": rev or self.clock.next(),
            "prev": None,
        }
        commit = sign_commit(unsigned, key or self.identity.signing_key)
        commit_bytes = encode(commit)
        commit_cid = compute_cid(commit_bytes, DAG_CBOR)
        blocks: dict[CID, bytes] = {commit_cid: commit_bytes, **new_records}
        blocks.update({cid: data for cid, data in nodes.items() if cid not in self.nodes})
        if prev_data is not None and ops:
            blocks.update(_opened_by_inversion(root, ops, nodes))
        since_rev = (head.rev if head is not None else None) if since is True else (since or None)
        rev_value = unsigned["rev"]
        assert isinstance(rev_value, str)
        return CommitDraft(
            did=self.did,
            rev=rev_value,
            since=since_rev,
            prev_data=prev_data,
            data=root,
            commit=commit,
            commit_cid=commit_cid,
            ops=ops,
            blocks=blocks,
            records=records,
            nodes=nodes,
        )

    def apply(self, draft: CommitDraft) -> None:
        """Make ``draft`` the repo's state: what ``getRepo`` and ``getLatestCommit`` serve from now on."""
        self.records = dict(draft.records)
        self.nodes = dict(draft.nodes)
        self.head = draft
        self.history.append(draft)

    def car(self) -> bytes:
        """The whole repo (``com.atproto.sync.getRepo``): commit, every MST node, every record."""
        head = self.head
        if head is None:
            raise LookupError(f"{self.did} has no commit yet")
        commit_bytes = head.blocks[head.commit_cid]
        blocks = [(head.commit_cid, commit_bytes), *self.nodes.items(), *self.records.values()]
        return write_car([head.commit_cid], blocks)


def _opened_by_inversion(root: CID, ops: list[dict[str, Value]], nodes: dict[CID, bytes]) -> dict[CID, bytes]:
    """The MST nodes a consumer must open to invert ``ops`` (some are unchanged neighbours of new ones)."""
    opened: dict[CID, bytes] = {}

    def get(cid: CID) -> bytes | None:
        data = nodes.get(cid)
        if data is not None:
            opened[cid] = data
        return data

    invert_ops(root, [CommitOp.from_event(op) for op in ops], get)
    return opened
