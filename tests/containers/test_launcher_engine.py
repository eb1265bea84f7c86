"""The container launcher against a real engine: networks, aliases, ports, logs, cleanup.

Skipped (with the reason) where no engine answers or the base image is not built.
"""

from __future__ import annotations

import httpx
import pytest

from atcheck.containers import cleanup, engine
from atcheck.errors import LaunchError, ManifestError
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.container import ContainerLauncher
from atcheck.targets.manifest import parse_manifest
from atcheck.targets.model import Role
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack

pytestmark = pytest.mark.usefixtures("base_image")

# A tiny HTTP server in the base image's perl-base (minbase has no Python): answers every request with 200 and
# the env var BODY. Used so launcher tests need no image beyond the base.
PERL_HTTP = (
    'use IO::Socket::INET; $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $ARGV[0], '
    "Listen => 16, ReuseAddr => 1) or die qq(listen: $!); $| = 1; print qq(listening on $ARGV[0]\\n); "
    "while ($c = $s->accept) {{ while (<$c>) {{ last if /^\\r?$/ }} "
    "print $c qq(HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n$ENV{{BODY}}\\n); close $c }}"
)

# The PDS stand-in reads its PLC over the run's network (bash's /dev/tcp, by alias) before it serves: it only
# becomes healthy when the container-side {plc.url} works.
FETCH_THEN_SERVE = (
    "u='{plc.url}'; hp=${{u#http://}}; exec 3<>/dev/tcp/${{hp%:*}}/${{hp##*:}} || exit 7; "
    "printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; export BODY=\"plc said: $(tail -n 1 <&3)\"; "
    "exec perl -e '" + PERL_HTTP.replace("'", "'\\''") + "' {port}"
)


def two_service_manifest() -> dict[str, object]:
    return {
        "name": "duo",
        "implementation": "selftest",
        "version": "1",
        "service": [
            {
                "name": "pds",
                "roles": ["pds"],
                "needs": ["plc"],
                "did": "did:web:localhost%3A{port}",
                "credentials": {"admin_password": "{secret:admin}"},
                "container": {
                    "image": "atcheck/base",
                    "port": 1,
                    "command": ["bash", "-c", FETCH_THEN_SERVE],
                    "env": {"ADMIN": "{secret:admin}", "DATA": "{data_dir}"},
                },
                "health": {"path": "/", "timeout": 30},
            },
            {
                "name": "plc",
                "roles": ["plc"],
                "container": {
                    "image": "atcheck/base",
                    "port": 2582,
                    "command": ["perl", "-e", PERL_HTTP, "2582"],
                    "env": {"BODY": "plc here"},
                },
                "health": {"path": "/", "timeout": 30},
            },
        ],
    }


def test_stack_of_two_containers_talks_by_alias_and_cleans_up(launch_ctx: LaunchContext) -> None:
    manifest = parse_manifest(two_service_manifest(), "selftest")
    stack = Stack([TargetSpec.of(manifest, "container")], launch_ctx)
    try:
        running = stack.start("duo@container")
        pds = running.endpoints[Role.PDS]
        plc = running.endpoints[Role.PLC]
        # Suites see host URLs on 127.0.0.1; the PDS saw its PLC by alias, not by host port.
        assert pds.url.startswith("http://127.0.0.1:") and plc.url.startswith("http://127.0.0.1:")
        body = httpx.get(pds.url, timeout=5, trust_env=False).text
        assert body.strip() == "plc said: plc here"
        # The PDS uses {port}: same port inside and outside, so its self-made DID is valid from here.
        assert pds.did == f"did:web:localhost%3A{pds.url.rsplit(':', 1)[1]}"
        assert pds.credentials.admin_password and pds.credentials.admin_password in launch_ctx.secrets
        client = engine.client()
        try:
            made = cleanup.leftovers(client, run_id=launch_ctx.run_id)
            assert len(made.containers) == 2 and len(made.networks) == 1
            published = client.containers.get(made.containers[0]).attrs["NetworkSettings"]["Ports"]
            assert all(b["HostIp"] == "127.0.0.1" for bindings in published.values() for b in bindings or [])
        finally:
            client.close()
    finally:
        stack.stop_all()
    logs = sorted(p.name for p in launch_ctx.log_dir.iterdir())
    assert logs == ["duo@container-pds.log", "duo@container-plc.log"]
    assert "listening on 2582" in (launch_ctx.log_dir / "duo@container-plc.log").read_text()
    client = engine.client()
    try:
        assert not cleanup.leftovers(client, run_id=launch_ctx.run_id)
    finally:
        client.close()


def test_a_container_that_exits_fails_fast_with_its_log(launch_ctx: LaunchContext) -> None:
    manifest = parse_manifest(
        {
            "name": "dies",
            "implementation": "selftest",
            "version": "1",
            "service": [
                {
                    "name": "pds",
                    "roles": ["pds"],
                    "container": {
                        "image": "atcheck/base",
                        "port": 80,
                        "command": ["bash", "-c", "echo cannot start: no config; exit 3"],
                    },
                    "health": {"path": "/", "timeout": 30},
                }
            ],
        },
        "selftest",
    )
    launcher = ContainerLauncher()
    with pytest.raises(LaunchError, match=r"exited before it was ready.*exit code 3.*no config"):
        launcher.start(manifest, manifest.services[0], launch_ctx)
    client = engine.client()
    try:
        assert not cleanup.leftovers(client, run_id=launch_ctx.run_id)
    finally:
        client.close()


def test_a_manifest_error_before_start_leaves_no_network(launch_ctx: LaunchContext) -> None:
    manifest = parse_manifest(
        {
            "name": "typo",
            "implementation": "selftest",
            "version": "1",
            "service": [
                {
                    "name": "pds",
                    "roles": ["pds"],
                    "container": {"image": "atcheck/base", "port": 80, "env": {"X": "{no_such_placeholder}"}},
                }
            ],
        },
        "selftest",
    )
    launcher = ContainerLauncher()
    with pytest.raises(ManifestError, match="unknown placeholder"):
        launcher.start(manifest, manifest.services[0], launch_ctx)
    client = engine.client()
    try:
        assert not cleanup.leftovers(client, run_id=launch_ctx.run_id)
    finally:
        client.close()
