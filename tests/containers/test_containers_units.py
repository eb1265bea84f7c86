"""Container launcher and image builder logic that needs no Docker engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atcheck.containers import builder, cleanup, engine
from atcheck.errors import LaunchError
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.container import ContainerLauncher, alias_for, uses_port_placeholder
from atcheck.targets.manifest import parse_manifest
from atcheck.targets.model import ContainerSpec, Role, ServiceEndpoint
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack

NO_ENGINE = "unix:///nonexistent/docker.sock"


def test_no_engine_is_one_line_that_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    problem = engine.engine_problem()
    assert problem is not None and "\n" not in problem
    assert "bash scripts/docker-engine.sh start" in problem
    assert ContainerLauncher().unavailable_reason() == problem


def test_an_engine_that_does_not_answer_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    socket_file = tmp_path / "docker.sock"
    socket_file.write_text("")  # exists, but nothing listens
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_file}")
    problem = engine.engine_problem()
    assert problem is not None and "does not answer" in problem and "\n" not in problem


def test_a_container_target_without_engine_fails_to_start_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    manifest = parse_manifest(
        {
            "name": "x",
            "implementation": "x",
            "version": "1",
            "service": [{"name": "pds", "roles": ["pds"], "container": {"image": "atcheck/base", "port": 1}}],
        },
        "test",
    )
    ctx = LaunchContext(run_id="r", run_dir=tmp_path, log_dir=tmp_path / "logs")
    stack = Stack([TargetSpec.of(manifest, "container")], ctx)
    with pytest.raises(LaunchError, match="container launcher cannot run here: no Docker engine"):
        stack.start("x@container")
    assert stack.failure("x@container") is not None  # reported as not run, with this reason


def test_aliases_are_dns_labels() -> None:
    assert alias_for("reference", "plc") == "reference-plc"
    assert alias_for("My Target@v2", "pds_1") == "my-target-v2-pds-1"
    assert len(alias_for("x" * 100, "y")) <= 63


def test_port_placeholder_detection() -> None:
    assert uses_port_placeholder(ContainerSpec(image="i", port=1, command=("run", "--port", "{port}")))
    assert uses_port_placeholder(ContainerSpec(image="i", port=1, env={"PORT": "{port}"}))
    assert not uses_port_placeholder(ContainerSpec(image="i", port=1, command=("run",)))


def test_needed_roles_are_translated_to_container_side_urls() -> None:
    launcher = ContainerLauncher()
    launcher._internal_urls["http://127.0.0.1:5000"] = "http://reference-plc:5000"
    plc = ServiceEndpoint("reference", "plc", Role.PLC, "http://127.0.0.1:5000", did=None)
    seen = launcher.container_side({Role.PLC: plc}, "here")
    assert seen[Role.PLC].url == "http://reference-plc:5000"
    assert seen[Role.PLC].service == "plc"
    remote = ServiceEndpoint("far", "pds", Role.PDS, "https://pds.example.com")
    assert launcher.container_side({Role.PDS: remote}, "here")[Role.PDS] == remote
    local = ServiceEndpoint("proc", "plc", Role.PLC, "http://127.0.0.1:6000")
    with pytest.raises(LaunchError, match="a container cannot reach"):
        launcher.container_side({Role.PLC: local}, "here")


def test_fingerprint_follows_content_and_npm_lockfile(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.mjs").write_text("one")
    first = builder.tree_fingerprint(tree)
    assert builder.tree_fingerprint(tree) == first
    (tree / "sub" / "a.mjs").write_text("two")
    second = builder.tree_fingerprint(tree)
    assert second != first
    assert builder.tree_fingerprint(tree, exclude=("sub",)) != second
    modules = tree / "node_modules"
    (modules / "pkg").mkdir(parents=True)
    (modules / ".package-lock.json").write_text('{"packages": {"node_modules/pkg": {"version": "1.0.0"}}}')
    (modules / "pkg" / "index.js").write_text("x")
    with_modules = builder.tree_fingerprint(tree)
    (modules / "pkg" / "index.js").write_text("changed without a reinstall")
    assert builder.tree_fingerprint(tree) == with_modules  # node_modules is known by its lockfile
    (modules / ".package-lock.json").write_text('{"packages": {"node_modules/pkg": {"version": "1.0.1"}}}')
    assert builder.tree_fingerprint(tree) != with_modules


def test_payload_appends_only_paths_the_base_lacks(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "root" / ".cache" / "atcheck").mkdir(parents=True)
    (rootfs / "usr" / "local" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "local" / "bin" / "node").symlink_to("/root/.cache/atcheck/node")
    (rootfs / "work" / "main").mkdir(parents=True)
    base = {"root", "usr", "usr/local", "usr/local/bin", "bin"}
    assert builder._new_paths(rootfs, base) == ["root/.cache", "usr/local/bin/node", "work"]


def test_owner_labels_tell_live_from_dead_processes() -> None:
    me = cleanup.owner_id()
    assert cleanup.owner_alive(me)
    host, pid, started = me.split(":")
    assert not cleanup.owner_alive(f"{host}:{pid}:{int(started) + 1}")  # same PID, another process
    assert not cleanup.owner_alive(f"{host}:not-a-pid:1")
    assert cleanup.owner_alive("some-other-host:1:1")  # not ours to judge
    labels = cleanup.ownership_labels({"org.atcheck.run": "r1"})
    assert labels["org.atcheck.run"] == "r1" and labels[cleanup.LABEL_MANAGED] == "true"


def test_selection_of_resources_to_remove() -> None:
    me = cleanup.owner_id()
    live = {cleanup.LABEL_MANAGED: "true", cleanup.LABEL_OWNER: me, cleanup.LABEL_RUN: "r1"}
    dead = {**live, cleanup.LABEL_OWNER: f"{me.split(':')[0]}:{os.getpid()}:0", cleanup.LABEL_RUN: "r2"}
    foreign: dict[str, str] = {"org.atcheck.run": "r1"}  # not managed by atcheck: never touched
    assert cleanup._chosen(live, run_id="r1", stale_only=True)
    assert not cleanup._chosen(live, run_id=None, stale_only=True)
    assert cleanup._chosen(dead, run_id=None, stale_only=True)
    assert cleanup._chosen(live, run_id=None, stale_only=False)
    assert not cleanup._chosen(foreign, run_id="r1", stale_only=False)
