"""The process and URL launchers against a fake service that misbehaves in every way a real one can.

Each test tags the processes it causes (``--tag <tmp dir>``) and checks /proc afterwards, so "nothing left
behind" is observed, not assumed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atcheck.errors import LaunchError, ManifestError, SetupError, TargetUnreachable
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessLauncher, ProcessService, stop_process_group
from atcheck.targets.launchers.url import UrlLauncher
from atcheck.targets.manifest import parse_manifest, url_manifest
from atcheck.targets.model import Role, TargetManifest
from atcheck.targets.ports import free_port, require_free

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_service.py"


# -- helpers ---------------------------------------------------------------------------------------------


def fake_manifest(
    tag: Path,
    mode: str = "healthy",
    *,
    timeout: float = 20,
    args: tuple[str, ...] = (),
    port_arg: str = "{port}",
    env: dict[str, str] | None = None,
    credentials: dict[str, str] | None = None,
    requires: tuple[str, ...] = (),
    name: str = "fake",
    fixed_port: int | None = None,
) -> TargetManifest:
    process: dict[str, Any] = {
        "command": ["{python}", str(FAKE), "--port", port_arg, "--mode", mode, "--tag", str(tag), *args],
        "env": env or {},
        "requires": list(requires),
    }
    if fixed_port is not None:
        process["port"] = fixed_port
    service = {
        "name": "pds",
        "roles": ["pds"],
        "health": {"path": "/xrpc/_health", "timeout": timeout},
        "credentials": credentials or {},
        "process": process,
    }
    data = {"name": name, "implementation": "fake", "version": "0", "service": [service]}
    return parse_manifest(data, "test manifest")


def context(tmp_path: Path) -> LaunchContext:
    return LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")


def tagged_pids(tag: Path) -> list[int]:
    """Live (non-zombie) processes whose command line mentions ``tag``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(tag).encode() + b"\0" in cmdline and state not in ("Z", "X"):  # the whole --tag argument
            found.append(int(entry.name))
    return found


def wait_gone(tag: Path, within_s: float = 3.0) -> list[int]:
    """The tagged processes still alive after ``within_s`` (reaping by init can lag a little)."""
    deadline = time.monotonic() + within_s
    while (left := tagged_pids(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def tag(tmp_path: Path) -> Iterator[Path]:
    """A unique tag for this test's processes; whatever survives the test is killed and fails it."""
    yield tmp_path
    left = wait_gone(tmp_path)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def started() -> Iterator[list[ProcessService]]:
    services: list[ProcessService] = []
    yield services
    for service in services:
        service.stop()


def start(manifest: TargetManifest, ctx: LaunchContext) -> ProcessService:
    return ProcessLauncher().start(manifest, manifest.services[0], ctx)


# -- a healthy service -----------------------------------------------------------------------------------


def test_healthy_service_starts_is_reachable_and_stops_cleanly(tmp_path: Path, tag: Path) -> None:
    ctx = context(tmp_path)
    manifest = fake_manifest(tag)
    service = start(manifest, ctx)
    try:
        (endpoint,) = service.endpoints
        assert endpoint.role is Role.PDS and endpoint.target == "fake" and endpoint.service == "pds"
        port = int(endpoint.url.rsplit(":", 1)[1])
        assert endpoint.url == f"http://127.0.0.1:{port}"
        answer = httpx.get(endpoint.url + "/argv", timeout=5, trust_env=False).json()
        assert answer["argv"][:2] == ["--port", str(port)]
        assert answer["cwd"] == str(ctx.run_dir / "data" / "fake" / "pds")  # its own data dir
        assert service.alive() and service.started_s > 0
        assert tagged_pids(tag)
    finally:
        service.stop()
    assert not service.alive()
    assert port_closed(port)
    assert not wait_gone(tag)
    service.stop()  # twice is fine
    log = (ctx.log_dir / "fake-pds.log").read_text()
    assert log.startswith("# atcheck: ") and "fake service listening" in log


def test_env_is_rendered_and_proxies_are_dropped(
    tmp_path: Path, tag: Path, started: list[ProcessService], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    ctx = context(tmp_path)
    manifest = fake_manifest(tag, env={"DATA": "{data_dir}", "SELF": "http://{host}:{port}"})
    service = start(manifest, ctx)
    started.append(service)
    url = service.endpoints[0].url

    def env(name: str) -> object:
        return httpx.get(f"{url}/env", params={"name": name}, timeout=5, trust_env=False).json()["value"]

    assert env("DATA") == str(ctx.run_dir / "data" / "fake" / "pds")
    assert env("SELF") == url
    assert env("HTTP_PROXY") is None and env("https_proxy") is None
    assert "127.0.0.1" in str(env("NO_PROXY"))


def test_secrets_in_credentials_are_recorded_for_scrubbing(
    tmp_path: Path, tag: Path, started: list[ProcessService]
) -> None:
    ctx = context(tmp_path)
    manifest = fake_manifest(
        tag, credentials={"admin_password": "{secret:admin}"}, env={"PW": "{secret:admin}"}
    )
    service = start(manifest, ctx)
    started.append(service)
    credentials = service.endpoints[0].credentials
    assert credentials.admin_password and credentials.admin_password in ctx.secrets
    assert credentials.admin_password not in repr(credentials)
    url = service.endpoints[0].url
    pw = httpx.get(f"{url}/env", params={"name": "PW"}, timeout=5, trust_env=False).json()["value"]
    assert pw == credentials.admin_password  # the same secret in env and credentials


@pytest.mark.xfail(
    strict=True,
    reason="harness bug: ProcessLauncher adds only generated secrets to ctx.secrets, not literal or {env:} "
    "credentials, so they could reach the reports",
)
def test_literal_credentials_are_recorded_for_scrubbing(
    tmp_path: Path, tag: Path, started: list[ProcessService]
) -> None:
    ctx = context(tmp_path)
    service = start(fake_manifest(tag, credentials={"admin_password": "hunter2-literal"}), ctx)
    started.append(service)
    assert service.endpoints[0].credentials.admin_password == "hunter2-literal"
    assert "hunter2-literal" in ctx.secrets


# -- services that do not come up ----------------------------------------------------------------------


def test_service_that_dies_at_start_fails_fast_with_exit_code_and_log_tail(tmp_path: Path, tag: Path) -> None:
    manifest = fake_manifest(tag, "die", timeout=60)
    began = time.monotonic()
    with pytest.raises(LaunchError) as info:
        start(manifest, context(tmp_path))
    elapsed = time.monotonic() - began
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("target fake, service pds exited before it was ready: exit code 3")
    assert "fatal: cannot open the database at /nonexistent (fake)" in message
    assert elapsed < 15, f"took {elapsed:.1f} s: it waited for the health timeout instead of noticing"
    assert not wait_gone(tag)


def test_service_that_never_becomes_ready_times_out_and_is_stopped(tmp_path: Path, tag: Path) -> None:
    manifest = fake_manifest(tag, "never-ready", timeout=1)
    began = time.monotonic()
    with pytest.raises(LaunchError) as info:
        start(manifest, context(tmp_path))
    assert time.monotonic() - began >= 1
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("target fake, service pds was not ready within 1 s (health check http://127.0.0.1:")
    assert "/xrpc/_health: ConnectError" in message and "still running" in message
    assert not wait_gone(tag)


def test_service_answering_5xx_is_not_ready(tmp_path: Path, tag: Path) -> None:
    with pytest.raises(LaunchError, match=r"was not ready within 1 s \(health check .*: HTTP 503\)"):
        start(fake_manifest(tag, "unhealthy", timeout=1), context(tmp_path))
    assert not wait_gone(tag)


@pytest.mark.parametrize("holder_reuses_address", [False, True])
def test_fixed_port_already_taken_is_a_setup_error_before_anything_starts(
    tmp_path: Path, tag: Path, holder_reuses_address: bool
) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(holder_reuses_address))
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(SetupError) as info:
            start(fake_manifest(tag, fixed_port=taken), context(tmp_path))
    assert str(info.value) == (
        f"port {taken} on 127.0.0.1 is in use, target fake, service pds cannot start "
        "(stop what listens there, or let atcheck pick a port)"
    )
    assert not tagged_pids(tag)
    assert not (tmp_path / "logs" / "fake-pds.log").exists()


def test_a_free_fixed_port_is_used(tmp_path: Path, tag: Path, started: list[ProcessService]) -> None:
    port = free_port()
    service = start(fake_manifest(tag, fixed_port=port), context(tmp_path))
    started.append(service)
    assert service.endpoints[0].url == f"http://127.0.0.1:{port}"


def test_a_port_in_time_wait_is_not_reported_as_taken() -> None:
    """A port whose last connection is in TIME_WAIT is usable by servers (they set SO_REUSEADDR), so a
    quick re-run with a fixed port must not be refused; only a real listener makes a port taken."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server side closes first: its port enters TIME_WAIT
            client.recv(1)
    require_free(port, "test")  # must not raise


def test_service_that_binds_a_taken_port_itself_reports_why(tmp_path: Path, tag: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        manifest = fake_manifest(tag, port_arg=str(taken), timeout=30)
        with pytest.raises(LaunchError) as info:
            start(manifest, context(tmp_path))
    message = str(info.value)
    assert "exited before it was ready: exit code 1" in message
    assert "Address already in use" in message
    assert not wait_gone(tag)


def test_missing_executable_is_a_launch_error(tmp_path: Path, tag: Path) -> None:
    data = {
        "name": "fake",
        "implementation": "fake",
        "version": "0",
        "service": [{"name": "pds", "roles": ["pds"], "process": {"command": [str(tag / "no-such-binary")]}}],
    }
    manifest = parse_manifest(data, "test manifest")
    with pytest.raises(LaunchError, match=r"cannot run '.*no-such-binary': No such file or directory$"):
        start(manifest, context(tmp_path))


def test_missing_tool_is_a_setup_error(tmp_path: Path, tag: Path) -> None:
    with pytest.raises(SetupError, match=r"^target fake, service pds: unknown tool 'no-such-tool'"):
        start(fake_manifest(tag, requires=("no-such-tool",)), context(tmp_path))
    assert not tagged_pids(tag)


def test_unknown_placeholder_is_a_manifest_error_before_anything_starts(tmp_path: Path, tag: Path) -> None:
    manifest = fake_manifest(tag, args=("--flavour", "{flavour}"))
    with pytest.raises(ManifestError) as info:
        start(manifest, context(tmp_path))
    assert str(info.value) == "target fake, service pds.command: unknown placeholder {flavour}"
    assert not tagged_pids(tag)


# -- stopping ------------------------------------------------------------------------------------------


def test_a_service_ignoring_sigterm_is_killed(tmp_path: Path, tag: Path) -> None:
    service = start(fake_manifest(tag, "ignore-term"), context(tmp_path))
    port = int(service.endpoints[0].url.rsplit(":", 1)[1])
    service.stop()  # SIGTERM, the grace period, then SIGKILL
    assert service.process.returncode == -9
    assert port_closed(port)
    assert not wait_gone(tag)


def test_stop_process_group_escalates_after_the_grace_period(tag: Path) -> None:
    port = free_port()
    cmd = [sys.executable, str(FAKE), "--port", str(port), "--mode", "ignore-term", "--tag", str(tag)]
    process = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while port_closed(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        stop_process_group(process, grace_s=0.3)
        assert 0.3 <= time.monotonic() - began < 5
        assert process.returncode == -9
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("child_ignores_term", [False, True])
def test_child_processes_are_gone_after_stop(tmp_path: Path, tag: Path, child_ignores_term: bool) -> None:
    pid_file = tag / "child.pid"
    args = ("--pid-file", str(pid_file), *(("--child-ignores-term",) if child_ignores_term else ()))
    service = start(fake_manifest(tag, "spawn-child", args=args), context(tmp_path))
    child = int(pid_file.read_text())
    assert child in tagged_pids(tag)
    service.stop()
    assert not wait_gone(tag)


@pytest.mark.xfail(
    strict=True,
    reason="harness bug: stop_process_group looks the group up with os.getpgid(pid) after the leader was "
    "reaped, fails, and never signals the group, so children of a leader that died at start survive",
)
def test_children_of_a_service_that_died_at_start_are_gone(tmp_path: Path, tag: Path) -> None:
    pid_file = tag / "child.pid"
    with pytest.raises(LaunchError, match="exit code 3"):
        start(fake_manifest(tag, "die-leaving-child", args=("--pid-file", str(pid_file))), context(tmp_path))
    assert pid_file.exists()
    left = wait_gone(tag)
    for pid in left:  # clean up here, so only this test reports the bug
        os.kill(pid, 9)
    assert not left


# -- the URL launcher ------------------------------------------------------------------------------------


def test_url_launcher_unreachable_url(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    manifest = url_manifest(f"http://127.0.0.1:{port}/")
    with pytest.raises(TargetUnreachable) as info:
        UrlLauncher().start(manifest, manifest.services[0], context(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    health = f"http://127.0.0.1:{port}/xrpc/_health"
    where = f"target url:127.0.0.1:{port}, service pds"
    assert message.startswith(f"{where}: {health} did not answer (ConnectError")


def _serve(tag: Path, mode: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, str(FAKE), "--port", str(port), "--mode", mode, "--tag", str(tag)]
    process = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while port_closed(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process, port


def test_url_launcher_against_a_5xx_server(tmp_path: Path, tag: Path) -> None:
    process, port = _serve(tag, "unhealthy")
    try:
        manifest = url_manifest(f"http://127.0.0.1:{port}")
        with pytest.raises(TargetUnreachable, match=r"/xrpc/_health answered HTTP 503$"):
            UrlLauncher().start(manifest, manifest.services[0], context(tmp_path))
    finally:
        stop_process_group(process, grace_s=1)


def test_url_launcher_against_a_running_server(
    tmp_path: Path, tag: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATCHECK_ADMIN_PASSWORD", "admin-from-env")
    monkeypatch.delenv("ATCHECK_ACCOUNT_PASSWORD", raising=False)
    process, port = _serve(tag, "healthy")
    try:
        manifest = url_manifest(f"http://127.0.0.1:{port}/")
        ctx = context(tmp_path)
        service = UrlLauncher().start(manifest, manifest.services[0], ctx)
        (endpoint,) = service.endpoints
        assert endpoint.url == f"http://127.0.0.1:{port}" and endpoint.role is Role.PDS
        assert endpoint.credentials.admin_password == "admin-from-env"
        assert endpoint.credentials.account_password is None  # unset env: absent, not ""
        assert "admin-from-env" in ctx.secrets
        service.stop()  # not ours: nothing happens
        assert process.poll() is None
    finally:
        stop_process_group(process, grace_s=1)
