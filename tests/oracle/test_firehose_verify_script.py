"""The firehose verification benchmark stays runnable: a tiny recording verifies; bad input is one line."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from types import ModuleType

import pytest

from atcheck.oracle.build import build_repo
from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import DAG_CBOR, compute_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.mst import build_mst

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "firehose_verify.py"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("firehose_verify", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recording(folder: Path) -> None:
    """One #commit creating one record in an empty repo: its blocks are the whole (tiny) repo."""
    key = PrivateKey.generate("k256")
    path = "com.example.atcheck.bench/k1"
    repo = build_repo(DID, {path: {"$type": "com.example.atcheck.bench", "n": 1}}, key)
    empty_root, _ = build_mst({})
    body = {
        "seq": 1,
        "rebase": False,
        "tooBig": False,
        "repo": DID,
        "commit": repo.commit_cid,
        "rev": repo.commit["rev"],
        "since": None,
        "blocks": repo.car(),
        "ops": [{"action": "create", "path": path, "cid": repo.records[path]}],
        "blobs": [],
        "time": "2026-01-01T00:00:00.000Z",
        "prevData": empty_root,
    }
    frame = encode({"op": 1, "t": "#commit"}) + encode(body)
    (folder / "frames.bin").write_bytes(struct.pack(">I", len(frame)) + frame)
    (folder / "keys.json").write_text(json.dumps({DID: key.public.multikey}), encoding="utf-8")
    assert compute_cid(repo.blocks[repo.commit_cid], DAG_CBOR) == repo.commit_cid


def test_a_saved_recording_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _recording(tmp_path)
    assert _module().main(["--stream", str(tmp_path), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 #commit events verified" in out and "events/s per CPU-second" in out


def test_a_missing_recording_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _module().main(["--stream", str(tmp_path / "nowhere"), "--repeat", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cannot read the recording") and "\n" not in err
