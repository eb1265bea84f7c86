"""``needs_all``: a service (a relay) that needs *every* PDS of the run, not just one provider.

The Stack starts every other target of the run that plays the role, hands their endpoints to the service's
templates as ``{all:ROLE.ATTR}``, and leaves out a provider that fails to start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atcheck.errors import ManifestError
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import parse_manifest
from atcheck.targets.model import Role, ServiceEndpoint, TargetManifest
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack
from atcheck.targets.templating import TemplateScope

from .conftest import tagged_pids

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_service.py"


def _pds(port: int) -> ServiceEndpoint:
    return ServiceEndpoint(target=f"t{port}", service="pds", role=Role.PDS, url=f"http://127.0.0.1:{port}")


# -- templating ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{all:pds.url}", "http://127.0.0.1:1001,http://127.0.0.1:1002"),
        ("{all:pds.host_url}", "http://localhost:1001,http://localhost:1002"),
        ("{all:pds.port}", "1001,1002"),
        ("hosts={all:pds.port};", "hosts=1001,1002;"),
    ],
)
def test_all_placeholders_render_every_endpoint(template: str, expected: str) -> None:
    scope = TemplateScope(needs_all={Role.PDS: [_pds(1001), _pds(1002)]})
    assert scope.render(template, "here") == expected


def test_all_placeholder_with_no_provider_is_empty() -> None:
    assert TemplateScope(needs_all={Role.PDS: []}).render("[{all:pds.url}]", "here") == "[]"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{all:pds.url}", "needs the role 'pds' in the service's needs_all"),
        ("{all:nope.url}", "unknown role in placeholder {all:nope.url}"),
        ("{all:pds.colour}", "unknown placeholder {all:pds.colour}"),
    ],
)
def test_all_placeholder_mistakes_are_one_line_errors(template: str, message: str) -> None:
    needs_all = {} if "needs the role" in message else {Role.PDS: [_pds(1001)]}
    with pytest.raises(ManifestError, match="here: ") as caught:
        TemplateScope(needs_all=needs_all).render(template, "here")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_manifest_reads_needs_all_and_checks_its_roles() -> None:
    base = {"name": "r", "implementation": "r", "version": "0"}
    service = {"name": "relay", "roles": ["relay"], "url": "http://127.0.0.1:1"}
    parsed = parse_manifest({**base, "service": [{**service, "needs_all": ["pds"]}]}, "m")
    assert parsed.services[0].needs_all == (Role.PDS,)
    with pytest.raises(ManifestError, match=r"needs_all\[0\]: unknown role 'pods'"):
        parse_manifest({**base, "service": [{**service, "needs_all": ["pods"]}]}, "m")


# -- the Stack ----------------------------------------------------------------------------------------------


def _service(tag: Path, name: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "roles": roles,
        "health": {"path": "/xrpc/_health", "timeout": 20},
        "process": {
            "command": [
                *("{python}", str(FAKE), "--port", "{port}"),
                *("--mode", extra.pop("mode", "healthy"), "--tag", str(tag)),
            ],
            "env": extra.pop("env", {}),
        },
        **extra,
    }


def _manifest(name: str, *services: dict[str, Any]) -> TargetManifest:
    data = {"name": name, "implementation": name, "version": "0", "service": list(services)}
    return parse_manifest(data, f"manifest {name}")


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    made: list[Stack] = []
    yield made
    for stack in made:
        stack.stop_all()


def _relay(tag: Path) -> TargetManifest:
    return _manifest(
        "relay", _service(tag, "relay", ["relay"], needs_all=["pds"], env={"UPSTREAMS": "{all:pds.url}"})
    )


def test_a_relay_gets_every_pds_of_the_other_targets(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    targets = {
        "one": _manifest("one", _service(tag, "pds", ["pds"])),
        "two": _manifest("two", _service(tag, "pds", ["pds"])),
        "relay": _relay(tag),
    }
    ctx = LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    stack = Stack([TargetSpec.of(m) for m in targets.values()], ctx)
    stacks.append(stack)
    relay = stack.start("relay")
    given = relay.needs_all[Role.PDS]
    assert [e.target for e in given] == ["one", "two"]
    endpoint = relay.endpoint(Role.RELAY)
    assert endpoint is not None
    upstreams = httpx.get(f"{endpoint.url}/env", params={"name": "UPSTREAMS"}, timeout=5, trust_env=False)
    assert upstreams.json()["value"] == ",".join(e.url for e in given)
    # The PDS targets were started as providers; starting them as targets reuses those services.
    assert stack.start("one").endpoint(Role.PDS) == given[0]
    assert len(tagged_pids(tag)) == 3


def test_a_pds_that_fails_is_left_out(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    targets = {
        "broken": _manifest("broken", _service(tag, "pds", ["pds"], mode="die")),
        "good": _manifest("good", _service(tag, "pds", ["pds"])),
        "relay": _relay(tag),
    }
    ctx = LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    stack = Stack([TargetSpec.of(m) for m in targets.values()], ctx)
    stacks.append(stack)
    relay = stack.start("relay")
    assert [e.target for e in relay.needs_all[Role.PDS]] == ["good"]


def test_a_run_without_pds_gives_an_empty_list(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    ctx = LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    stack = Stack([TargetSpec.of(_relay(tag))], ctx)
    stacks.append(stack)
    relay = stack.start("relay")
    assert relay.needs_all == {Role.PDS: []}
    endpoint = relay.endpoint(Role.RELAY)
    assert endpoint is not None
    upstreams = httpx.get(f"{endpoint.url}/env", params={"name": "UPSTREAMS"}, timeout=5, trust_env=False)
    assert upstreams.json()["value"] == ""
