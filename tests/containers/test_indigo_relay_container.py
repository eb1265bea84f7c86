"""indigo-relay@container for real: the relay, in its container, follows reference@container's PDS.

The PDS publishes ``http://localhost:PORT`` in its DID documents, and the relay accepts an account only from
exactly that host; inside the relay's container the wrapper forwards ``localhost:PORT`` to the PDS's
container, so a write on the PDS comes out of the relay's stream. Skipped when an image is not built.
"""

from __future__ import annotations

import time

import httpx
import pytest
from websockets.sync.client import connect

from atcheck.containers import builder
from atcheck.containers.recipes import RECIPES
from atcheck.errors import SetupError
from atcheck.oracle.cbor import decode_prefix, decode_strict
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack


def _image(name: str) -> str:
    try:
        tag = builder.image_tag(RECIPES[name])
    except SetupError as exc:
        pytest.skip(f"{name} installs missing: {exc}")
    if not builder.image_exists(tag):
        pytest.skip(f"{tag} is not built (run `atcheck containers build {name}`)")
    return tag


def test_the_process_and_container_tables_differ_only_where_a_container_must() -> None:
    (service,) = builtin_manifests()["indigo-relay"].services
    assert service.process is not None and service.container is not None
    process, container = service.process.env, service.container.env
    # In a container the PLC is another container (by alias), and the wrapper is told where each PDS is.
    assert (
        container.pop("RELAY_PLC_HOST") == "{plc.url}" and process.get("RELAY_PLC_HOST") == "{plc.host_url}"
    )
    assert container.pop("ATCHECK_RELAY_DIAL") == "{all:pds.url}"
    assert container.pop("PYTHONUNBUFFERED") == "1"
    assert {k: v for k, v in process.items() if k != "RELAY_PLC_HOST"} == container


def test_a_pds_write_comes_out_of_the_relay_container(docker_engine: None, launch_ctx: LaunchContext) -> None:
    _image("reference")
    _image("indigo-relay")
    builtins = builtin_manifests()
    targets = [
        TargetSpec.of(builtins["reference"], "container"),
        TargetSpec.of(builtins["indigo-relay"], "container"),
    ]
    stack = Stack(targets, launch_ctx)
    try:
        relay_target = stack.start("indigo-relay@container")
        relay = relay_target.endpoints[Role.RELAY]
        (pds,) = relay_target.needs_all[Role.PDS]
        with httpx.Client(timeout=20, trust_env=False) as client:
            # The host reaches the PDS by its published port (needs_all holds the container-side URL).
            pds_url = "http://127.0.0.1:" + pds.url.rsplit(":", 1)[1]
            created = client.post(
                f"{pds_url}/xrpc/com.atproto.server.createAccount",
                json={"handle": "dave.test", "email": "dave@example.test", "password": "pw-container-2"},
            )
            assert created.status_code == 200, created.text
            did, token = created.json()["did"], created.json()["accessJwt"]
            ws_url = relay.url.replace("http://", "ws://") + "/xrpc/com.atproto.sync.subscribeRepos"
            with connect(ws_url, open_timeout=10, close_timeout=2, proxy=None) as ws:
                write = client.post(
                    f"{pds_url}/xrpc/com.atproto.repo.createRecord",
                    json={"repo": did, "collection": "com.example.atcheck.note", "record": {"text": "hi"}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert write.status_code == 200, write.text
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    data = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
                    assert isinstance(data, bytes)
                    header, end = decode_prefix(data)
                    body = decode_strict(data[end:])
                    commit = isinstance(header, dict) and header.get("t") == "#commit"
                    if commit and isinstance(body, dict) and body.get("repo") == did and body.get("ops"):
                        return
        pytest.fail("no #commit of the write came out of the relay container within 20 s")
    finally:
        stack.stop_all()


def test_building_every_image_leaves_out_the_relay_when_go_could_not_build_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(recipe: object) -> list[object]:
        raise SetupError("the indigo relay is not installed")

    monkeypatch.setattr(builder, "resolve_inputs", missing)
    assert builder._optional_and_missing(RECIPES["indigo-relay"])
    assert not builder._optional_and_missing(RECIPES["reference"])  # not optional: its absence is an error
