"""reference@container for real: the PDS registers an account at its PLC over the run's network, and what
the PDS says about itself is usable from the host, as with the process launcher.

Skipped when the reference image for the current installs is not built.
"""

from __future__ import annotations

import httpx
import pytest

from atcheck.containers import builder, cleanup, engine
from atcheck.containers.recipes import RECIPES
from atcheck.errors import SetupError
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack


@pytest.fixture
def reference_image(docker_engine: None) -> str:
    try:
        tag = builder.image_tag(RECIPES["reference"])
    except SetupError as exc:
        pytest.skip(f"reference installs missing: {exc}")
    if not builder.image_exists(tag):
        pytest.skip(f"{tag} is not built (run `atcheck containers build reference`)")
    return tag


def test_reference_in_containers_creates_an_account_at_its_plc(
    reference_image: str, launch_ctx: LaunchContext
) -> None:
    stack = Stack([TargetSpec.of(builtin_manifests()["reference"], "container")], launch_ctx)
    try:
        running = stack.start("reference@container")
        pds, plc = running.endpoints[Role.PDS], running.endpoints[Role.PLC]
        port = pds.url.rsplit(":", 1)[1]
        with httpx.Client(timeout=20, trust_env=False) as client:
            described = client.get(f"{pds.url}/xrpc/com.atproto.server.describeServer").json()
            assert described["did"] == pds.did == f"did:web:localhost%3A{port}"
            created = client.post(
                f"{pds.url}/xrpc/com.atproto.server.createAccount",
                json={"handle": "carol.test", "email": "carol@example.test", "password": "pw-container-1"},
            )
            assert created.status_code == 200, created.text
            did = created.json()["did"]
            # The PDS wrote the DID to the PLC by alias; the host reads it by the published port.
            document = client.get(f"{plc.url}/{did}").json()
            services = {s["id"]: s["serviceEndpoint"] for s in document["service"]}
            endpoint = services["#atproto_pds"]
            assert endpoint == f"http://localhost:{port}"
            # Same port inside and outside: the endpoint the PDS advertises works from the host.
            health = client.get(f"http://127.0.0.1:{port}/xrpc/_health")
            assert health.status_code == 200
        assert pds.credentials.admin_password in launch_ctx.secrets
    finally:
        stack.stop_all()
    client = engine.client()
    try:
        assert not cleanup.leftovers(client, run_id=launch_ctx.run_id)
    finally:
        client.close()
    assert (launch_ctx.log_dir / "reference@container-pds.log").stat().st_size > 0
