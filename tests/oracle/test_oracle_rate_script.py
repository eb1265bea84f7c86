"""The rate benchmark stays runnable: a tiny synthetic run, a CAR file run, and a failing CAR."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from atcheck.oracle.build import build_repo
from atcheck.oracle.crypto import PrivateKey

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "oracle_rate.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oracle_rate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_run_prints_rates(capsys: pytest.CaptureFixture[str]) -> None:
    assert _module().main(["--records", "30", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "records/s:" in out and "blocks/s:" in out and "signature:       verified" in out


def test_car_file_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = PrivateKey.generate("p256")
    did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    repo = build_repo(did, {"app.bsky.feed.post/3l4qyfbbaaaaa": {"$type": "app.bsky.feed.post"}}, key)
    car = tmp_path / "repo.car"
    car.write_bytes(repo.car())
    argv = ["--car", str(car), "--did", did, "--signing-key", key.public.multikey, "--repeat", "1"]
    assert _module().main(argv) == 0
    assert "1 records" in capsys.readouterr().out
    car.write_bytes(repo.car()[:-1])
    assert _module().main(["--car", str(car), "--repeat", "1"]) == 1
    assert "fails verification" in capsys.readouterr().err
    assert _module().main(["--car", str(tmp_path / "absent.car")]) == 2


def test_pds_fetch_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # port 9 (discard) on loopback: nothing listens, so the fetch fails fast and cleanly
    assert _module().main(["--pds", "http://127.0.0.1:9", "--did", "did:plc:x", "--repeat", "1"]) == 2
    assert "cannot fetch the repo" in capsys.readouterr().err
