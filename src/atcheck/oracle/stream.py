"""Repositories too big to hold: read a CAR as a stream, spool its blocks to disk, verify with bounded memory.

:func:`atcheck.oracle.repo.verify_repo_car` holds the whole CAR, every block and every record; fine for the
suites' repos, not for a 100,000-record one. Here the CAR is read in chunks from any ``read(n)`` callable (a
file, an HTTP response stream), each section checked as :func:`atcheck.oracle.car.read_car` checks it (strict
varints, blessed CIDs, every block's hash), and the blocks go to an on-disk SQLite table keyed by CID. The
MST walk then reads nodes and records from there one at a time, so memory stays flat whatever the repo's size.

One check differs in form, not in strength: instead of rebuilding the tree from all records (which needs
them all in memory) the walk enforces what makes a tree the canonical one for its keys: each node's bytes are
strict canonical DAG-CBOR with exact prefix compression, every key sits in the node of its own height (so
the root's height is the highest key's), keys are in order across the whole walk, and no empty node hangs
below the root without a subtree. Given the keys, exactly one tree passes these rules, which is what the
rebuild compares against. ``tests/oracle/test_stream.py`` checks that both verifiers agree on the oracle's
negative cases.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from atcheck.oracle.car import _read_section_cid
from atcheck.oracle.cbor import decode_strict
from atcheck.oracle.cid import CID, compute_cid
from atcheck.oracle.crypto import PublicKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.mst import walk_mst
from atcheck.oracle.repo import Commit, _decode_record, check_commit
from atcheck.oracle.varint import read_varint

__all__ = ["BlockStore", "CarStream", "StreamedRepo", "verify_repo_stream"]

Read = Callable[[int], bytes]
CHUNK = 1 << 20


class CarStream:
    """A CAR v1 read incrementally: :attr:`roots` once the header is read, then iterate ``(cid, block)``.

    Raises :class:`OracleError` with the byte offset in the CAR, as :func:`read_car` does.
    """

    def __init__(self, read: Read, *, chunk: int = CHUNK) -> None:
        self._read = read
        self._chunk = chunk
        self._buf = b""
        self._pos = 0  # in _buf
        self._base = 0  # CAR offset of _buf[0]
        self._eof = False
        self.roots = self._header()

    @property
    def offset(self) -> int:
        """Bytes of the CAR consumed so far."""
        return self._base + self._pos

    def _fill(self, n: int) -> bool:
        """Make ``n`` bytes available from the current position; False when the stream ends first."""
        while len(self._buf) - self._pos < n and not self._eof:
            more = self._read(max(self._chunk, n))
            if not more:
                self._eof = True
                break
            self._base += self._pos
            self._buf = self._buf[self._pos :] + more
            self._pos = 0
        return len(self._buf) - self._pos >= n

    def _varint(self, what: str) -> int:
        self._fill(10)
        if self._pos >= len(self._buf):
            raise OracleError(f"{what} is missing (the CAR ends)", offset=self.offset)
        try:
            value, self._pos = read_varint(self._buf, self._pos, what)
        except OracleError as exc:
            raise OracleError(exc.problem, offset=self._base + (exc.offset or self._pos)) from None
        return value

    def _header(self) -> list[CID]:
        if not self._fill(1):
            raise OracleError("CAR is empty")
        length = self._varint("CAR header length")
        if length == 0:
            raise OracleError("CAR header length is zero", offset=0)
        start = self.offset
        if not self._fill(length):
            raise OracleError(f"CAR header of {length} bytes runs past the end of the file", offset=0)
        try:
            header = decode_strict(self._buf[self._pos : self._pos + length], blessed_links=False)
        except OracleError as exc:
            raise OracleError(f"CAR header: {exc.problem}", offset=start + (exc.offset or 0)) from None
        self._pos += length
        if not isinstance(header, dict) or header.get("version") != 1 or set(header) != {"roots", "version"}:
            raise OracleError("CAR header is not a map of exactly roots and version 1", offset=start)
        roots = header["roots"]
        if not isinstance(roots, list) or not roots or not all(isinstance(r, CID) for r in roots):
            raise OracleError("CAR header 'roots' is not a non-empty list of CIDs", offset=start)
        return roots

    def __iter__(self) -> Iterator[tuple[CID, bytes]]:
        sha256 = hashlib.sha256
        while self._fill(1):
            start = self.offset
            length = self._varint("CAR section length")
            if length == 0:
                raise OracleError("CAR section of length zero", offset=start)
            if not self._fill(length):
                raise OracleError(
                    f"CAR section of {length} bytes runs past the end of the file", offset=start
                )
            stop = self._pos + length
            try:
                cid, block_start = _read_section_cid(self._buf, self._pos, stop)
            except OracleError as exc:
                raise OracleError(exc.problem, offset=self._base + (exc.offset or self._pos)) from None
            block = self._buf[block_start:stop]
            if cid.hash_code != 0x12 or len(cid.digest) != 32 or cid.codec not in (0x71, 0x55):
                try:
                    cid.check_blessed("block CID")
                except OracleError as exc:
                    raise OracleError(exc.problem, offset=start) from None
            if sha256(block).digest() != cid.digest:
                raise OracleError(
                    f"block {cid} does not match its content, "
                    f"which hashes to {compute_cid(block, cid.codec)}",
                    offset=start,
                )
            self._pos = stop
            yield cid, block


class BlockStore:
    """Blocks by CID in an on-disk SQLite table (in a temp dir unless ``path`` is given)."""

    def __init__(self, path: Path | None = None) -> None:
        self._tmp = None if path is not None else tempfile.TemporaryDirectory(prefix="atcheck-blocks-")
        where = path if path is not None else Path(self._tmp.name) / "blocks.sqlite"  # type: ignore[union-attr]
        self._db = sqlite3.connect(where, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS b (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        self._db.execute("CREATE TABLE IF NOT EXISTS r (k BLOB PRIMARY KEY) WITHOUT ROWID")
        self.count = 0
        self.duplicates = 0

    def __enter__(self) -> BlockStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def load(self, blocks: Iterator[tuple[CID, bytes]], batch: int = 5000) -> None:
        """Store every block of a stream; a repeated section (identical, being hash-checked) is counted."""
        self._db.execute("BEGIN")
        pending: list[tuple[bytes, bytes]] = []
        for cid, block in blocks:
            pending.append((cid.raw, block))
            if len(pending) >= batch:
                self._insert(pending)
                pending = []
        self._insert(pending)
        self._db.execute("COMMIT")

    def _insert(self, rows: list[tuple[bytes, bytes]]) -> None:
        before = self._db.total_changes
        self._db.executemany("INSERT OR IGNORE INTO b VALUES (?, ?)", rows)
        added = self._db.total_changes - before
        self.count += added
        self.duplicates += len(rows) - added

    def get(self, cid: CID) -> bytes | None:
        row = self._db.execute("SELECT v FROM b WHERE k = ?", (cid.raw,)).fetchone()
        return None if row is None else bytes(row[0])

    def reach(self, cids: list[bytes]) -> None:
        """Mark blocks as reached from the commit (for the count of unreferenced ones)."""
        self._db.executemany("INSERT OR IGNORE INTO r VALUES (?)", ((c,) for c in cids))

    def unreached(self) -> int:
        row = self._db.execute("SELECT (SELECT count(*) FROM b) - (SELECT count(*) FROM r)").fetchone()
        return int(row[0])


@dataclass(frozen=True)
class StreamedRepo:
    """What a streamed verification found; the records themselves went to ``on_record``, not here."""

    commit: Commit
    root: CID
    record_count: int
    block_count: int
    mst_node_count: int
    unreferenced_blocks: int
    duplicate_blocks: int
    size: int


def verify_repo_stream(
    read: Read,
    *,
    did: str | None = None,
    signing_key: PublicKey | str | None = None,
    strict_record_links: bool = True,
    on_record: Callable[[str, CID, object], None] | None = None,
    store_path: Path | None = None,
) -> StreamedRepo:
    """Verify a full repository export read from ``read`` (the checks of ``verify_repo_car``), holding one
    block at a time. ``on_record(path, cid, value)`` sees each record, in key order."""
    stream = CarStream(read)
    with BlockStore(store_path) as store:
        store.load(iter(stream))
        root = stream.roots[0]
        data = store.get(root)
        if data is None:
            raise OracleError(f"the commit block {root} named by the CAR header is not in the CAR")
        commit = check_commit(root, data, did=did, signing_key=signing_key)
        counts = {"records": 0, "nodes": 0}
        reached: list[bytes] = [root.raw]

        def flush() -> None:
            if len(reached) >= 5000:
                store.reach(reached)
                reached.clear()

        def record(path: str, cid: CID) -> None:
            value = _decode_record(path, cid, store.get(cid))
            counts["records"] += 1
            reached.append(cid.raw)
            flush()
            if on_record is not None:
                on_record(path, cid, value)

        def node(cid: CID) -> None:
            counts["nodes"] += 1
            reached.append(cid.raw)
            flush()

        walk_mst(
            commit.data, store.get, strict_record_links=strict_record_links, on_record=record, on_node=node
        )
        store.reach(reached)
        return StreamedRepo(
            commit=commit,
            root=commit.data,
            record_count=counts["records"],
            block_count=store.count,
            mst_node_count=counts["nodes"],
            unreferenced_blocks=store.unreached(),
            duplicate_blocks=store.duplicates,
            size=stream.offset,
        )
