"""``pip install atcheck`` works without a clone: the wheel, installed in a fresh venv, checks a running PDS.

What a user does in their own CI: build the wheel from this tree, install it (with its dependencies, from
the package index) into a new venv in a temp folder, and from another temp folder (no checkout anywhere
above it) run ``atcheck run --target <URL>`` against a running reference PDS. The wheel must carry the suites,
catalogue, schemas and setup scripts (``atcheck/_data``); the report lands in ``./reports`` of that folder.
Takes ~1-2 min (the install fetches dependencies through pip's cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atcheck.targets.model import Role
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.tools import resolve_tool

ROOT = Path(__file__).resolve().parents[2]
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "reports", "build", "dist", "__pycache__", "*.egg-info", ".*_cache", ".hypothesis"
)


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a step; on failure, fail the test with its command and output tail (not a traceback)."""
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )  # fmt: skip
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        pytest.fail(f"{' '.join(argv[:4])}... exited {done.returncode}:\n{tail}")
    return done.stdout + done.stderr


def _clean_env() -> dict[str, str]:
    """This process's environment minus whatever points at this checkout or its venv."""
    drop = {"ATCHECK_HOME", "ATCHECK_REPORTS", "ATCHECK_TARGETS", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv, outside the clone, with the wheel built from this tree installed: its ``bin/``."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE, symlinks=True)
    env = _clean_env()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(source)],
         cwd=base, env=env, timeout=300)  # fmt: skip
    wheels = list((base / "dist").glob("atcheck-*.whl"))
    assert len(wheels) == 1, wheels
    _run([sys.executable, "-m", "venv", str(base / "venv")], cwd=base, env=env, timeout=120)
    pip = [str(base / "venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run([*pip, str(wheels[0])], cwd=base, env=env, timeout=600)
    return base / "venv" / "bin"


def test_the_wheel_carries_the_data_a_run_needs(installed: Path) -> None:
    """Suites, catalogue, schemas, manifests and setup scripts are in the installed package."""
    python = str(installed / "python")
    probe = (
        "import atcheck.paths as p, atcheck.catalogue as c; r = p.project_root(); "
        "print(r); print(len(list(c.load_catalogue()))); "
        "print(*(int((r / x).exists()) for x in ('suites/conftest.py', 'suites/baseline.toml', "
        "'schemas/report.schema.json', 'scripts/setup-node.sh', 'scripts/_setup-common.sh', "
        "'implementations/reference/start-pds.mjs')))"
    )
    out = _run([python, "-c", probe], cwd=installed, env=_clean_env(), timeout=60).split("\n")
    assert "site-packages/atcheck/_data" in out[0], out
    assert int(out[1]) > 0
    assert out[2] == "1 1 1 1 1 1", out


def test_setup_from_the_wheel_finds_the_checkouts_install(installed: Path, tmp_path: Path) -> None:
    """``atcheck setup reference`` runs the shipped script; the cache key is the checkout's (same lockfiles),
    so it finds the install ``make setup`` made instead of building another."""
    out = _run(
        [str(installed / "atcheck"), "setup", "reference"], cwd=tmp_path, env=_clean_env(), timeout=300
    )
    assert f"REFERENCE_DIR={resolve_tool('reference_dir')}" in out, out


def test_atcheck_run_against_a_url_from_any_folder(
    installed: Path, reference_stack: tuple[Stack, RunningTarget], tmp_path: Path
) -> None:
    _, reference = reference_stack
    pds = reference.endpoint(Role.PDS)
    assert pds is not None
    env = {**_clean_env(), "CI": "1", "ATCHECK_ADMIN_PASSWORD": pds.credentials.admin_password or ""}
    argv = [str(installed / "atcheck"), "run", "--target", pds.url, "--suite", "server"]
    done = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    # 0 or 1 (a MUST failed): either way the run happened; 2 would be a setup error of the install.
    assert done.returncode in (0, 1), (done.stdout + done.stderr)[-3000:]
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text(encoding="utf-8"))
    port = pds.url.rsplit(":", 1)[1]
    assert [(t["name"], t["status"]) for t in report["targets"]] == [(f"url:127.0.0.1:{port}", "ran")]
    tests = {r["test_id"].split("::")[0] for r in report["results"]}
    assert tests and all(t.startswith("suites/server/") for t in tests), tests
    assert (tmp_path / "reports" / "latest" / "summary.md").is_file()
