"""Self-test of the ozone target: its setup script's contract, its manifest, and one real start and stop.

The live test starts dev-env through the Stack once (about 20-35 s here) and checks what the target promises
beyond the suites: every socket of the process tree listens on 127.0.0.1 (Node, PostgreSQL, Redis), the
provisioning route refuses a missing token and bad input, and stopping leaves no process and no PostgreSQL
scratch dir behind (a stale one of a killed start is swept). It is skipped, with the setup script's reason,
when Ozone is not installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from atcheck.paths import project_root
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessService
from atcheck.targets.manifest import KNOWN_CAPABILITIES, builtin_manifests
from atcheck.targets.model import Role
from atcheck.targets.spec import DEFAULT_TARGETS, TargetSpec
from atcheck.targets.stack import Stack
from atcheck.tools import missing_tools

from .test_skyware_labeler_target import _listening_addresses

SETUP = "scripts/setup-ozone.sh"


def _setup(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(project_root() / SETUP), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "ATCHECK_CACHE": str(cache)},
        check=False,
    )


def test_print_env_without_install_fails_with_one_line(tmp_path: Path) -> None:
    done = _setup("--print-env", cache=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not installed" in lines[0] and SETUP in lines[0], done.stderr


def test_setup_rejects_unknown_options(tmp_path: Path) -> None:
    done = _setup("--frobnicate", cache=tmp_path)
    assert done.returncode == 1 and "unknown option" in done.stderr


def test_it_is_not_a_default_target() -> None:
    """A PostgreSQL cluster and ~20-35 s of start: named on purpose, never in every run."""
    assert "ozone" not in DEFAULT_TARGETS


def test_manifest_serves_four_roles_from_one_process() -> None:
    manifest = builtin_manifests()["ozone"]
    assert manifest.capabilities <= KNOWN_CAPABILITIES
    assert {"label.query", "label.subscribe", "label.create", "appview.labels"} <= manifest.capabilities
    main, *attached = manifest.services
    assert main.roles == (Role.LABELER,) and main.process is not None
    assert main.process.requires == ("node22", "ozone_dir")
    env = main.process.env
    assert env["OZONE_PORT"] == "{port}" and env["ATCHECK_ADMIN_TOKEN"] == main.credentials["bearer_token"]
    assert {s.roles[0] for s in attached} == {Role.APPVIEW, Role.PDS, Role.PLC}
    for service in attached:
        assert service.process is None and service.needs_services == ("ozone",)
        assert service.url is not None and service.url.startswith("http://127.0.0.1:{port:")
        # the port the script is told is the port the service's URL names
        port_name = service.url.split("{port:")[1].rstrip("}")
        assert f"{{port:{port_name}}}" in env.values()


def test_a_live_start_binds_loopback_and_stops_clean(tmp_path: Path) -> None:
    problem = missing_tools(("node22", "ozone_dir"))
    if problem:
        pytest.skip(problem)
    ctx = LaunchContext(run_id="ozone-selftest", run_dir=tmp_path, log_dir=tmp_path / "logs")
    stack = Stack([TargetSpec.of(builtin_manifests()["ozone"])], ctx)
    # A cluster dir left by a start that was killed (its owner is no process): the next start sweeps it.
    stale = Path("/tmp/atcheck-ozone-pg-selftestStale")
    stale.mkdir(exist_ok=True)
    (stale / "owner.pid").write_text("999999999\n")
    pg_dirs_before = set(Path("/tmp").glob("atcheck-ozone-pg-*")) - {stale}
    try:
        running = stack.start("ozone")
        labeler = running.endpoint(Role.LABELER)
        assert labeler is not None and running.endpoint(Role.APPVIEW) is not None
        (main,) = [s for s in stack.running_services() if isinstance(s, ProcessService)]
        tree = _process_tree(main.process.pid)
        assert any("postgres" in name for name in tree.values()), tree
        assert any("redis-server" in name for name in tree.values()), tree
        for pid in tree:
            assert _listening_addresses(pid) <= {"127.0.0.1"}, (pid, tree[pid])
        facts = httpx.get(f"{labeler.url}/atcheck/labeler", timeout=10).json()
        assert facts["did"].startswith("did:plc:")
        url = f"{labeler.url}/atcheck/labels"
        assert (
            httpx.post(url, json={"labels": [{"uri": "did:plc:x", "val": "a"}]}, timeout=10).status_code
            == 401
        )
        token = labeler.credentials.bearer_token
        bad = httpx.post(url, json={"labels": [{"val": "a"}]}, headers={"authorization": f"Bearer {token}"})
        assert bad.status_code == 400 and "uri" in bad.json()["message"]
    finally:
        stack.stop_all()
    for pid in tree:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert set(Path("/tmp").glob("atcheck-ozone-pg-*")) <= pg_dirs_before
    assert not stale.exists()


def _process_tree(root: int) -> dict[int, str]:
    """``root`` and its descendants (pid -> command name), from /proc."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        names[int(entry.name)] = name
        children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        found[pid] = names.get(pid, "?")
        todo.extend(children.get(pid, []))
    return found
