"""The starters registry: the process launcher starts a library target through what atcheck.libs registers,
every entry point that may start one has it registered, and a launch without it fails with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atcheck.errors import LaunchError
from atcheck.targets.launchers import starters
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessLauncher
from atcheck.targets.manifest import parse_manifest
from atcheck.targets.model import Role, TargetManifest


def _library() -> TargetManifest:
    service = {"name": "harness", "roles": ["lib"], "process": {"command": ["{python}", "-c", "pass"]}}
    return parse_manifest(
        {"name": "fake-lib", "implementation": "fake", "version": "0", "service": [service]}, "test manifest"
    )


@pytest.mark.parametrize("module", ["atcheck.run", "atcheck.pytest_plugin", "atcheck.selfcheck.runner"])
def test_every_entry_point_registers_the_library_starter(module: str) -> None:
    # A fresh interpreter: in this one, some earlier import may already have registered it.
    probe = (
        f"import {module}\n"
        "from atcheck.libs.launch import start_harness\n"
        "from atcheck.targets.launchers.starters import _STARTERS\n"
        "from atcheck.targets.model import Role\n"
        "assert _STARTERS.get(Role.LIB) is start_harness, _STARTERS\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_launcher_hands_a_library_to_its_registered_starter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_starter(*args: object) -> object:
        calls.append("started")
        raise LaunchError("the fake starter ran")

    monkeypatch.setattr(starters, "_STARTERS", {Role.LIB: fake_starter})
    manifest = _library()
    ctx = LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    with pytest.raises(LaunchError, match="the fake starter ran"):
        ProcessLauncher().start(manifest, manifest.services[0], ctx)
    assert calls == ["started"]


def test_a_library_with_no_starter_registered_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(starters, "_STARTERS", {})
    manifest = _library()
    ctx = LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    with pytest.raises(LaunchError, match=r"role 'lib' \(its starter registers when atcheck.libs.launch"):
        ProcessLauncher().start(manifest, manifest.services[0], ctx)
