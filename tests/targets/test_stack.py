"""The run's stack: lazy start, roles shared across targets, failures remembered, nothing left after stop."""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atcheck.errors import LaunchError, ManifestError, TargetUnreachable
from atcheck.run import Run
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import parse_manifest, url_manifest
from atcheck.targets.model import Role, TargetManifest
from atcheck.targets.ports import free_port
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack

from .conftest import tagged_pids, wait_gone

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_service.py"


def service(
    tag: Path,
    name: str,
    roles: list[str],
    *,
    needs: list[str] | None = None,
    mode: str = "healthy",
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "roles": roles,
        "needs": needs or [],
        "health": {"path": "/xrpc/_health", "timeout": 20},
        "process": {
            "command": ["{python}", str(FAKE), "--port", "{port}", "--mode", mode, "--tag", str(tag)],
            "env": env or {},
        },
    }


def manifest(name: str, *services: dict[str, Any]) -> TargetManifest:
    data = {"name": name, "implementation": f"{name}-impl", "version": "0", "service": list(services)}
    return parse_manifest(data, f"manifest {name}")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def env_of(url: str, name: str) -> object:
    return httpx.get(f"{url}/env", params={"name": name}, timeout=5, trust_env=False).json()["value"]


def new_stack(tmp_path: Path, targets: dict[str, TargetManifest], **kwargs: Any) -> Stack:
    ctx = LaunchContext(run_id="selftest", run_dir=tmp_path / "run", log_dir=tmp_path / "logs")
    return Stack([TargetSpec.of(m) for m in targets.values()], ctx, **kwargs)


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    made: list[Stack] = []
    yield made
    for stack in made:
        stack.stop_all()


def test_targets_start_lazily_and_once(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    stack = new_stack(tmp_path, {"alpha": manifest("alpha", service(tag, "pds", ["pds"]))})
    stacks.append(stack)
    assert stack.running_services() == [] and not tagged_pids(tag)
    running = stack.start("alpha")
    assert running.name == "alpha" and running.launcher == "process"
    assert len(stack.running_services()) == 1 and len(tagged_pids(tag)) == 1
    assert stack.start("alpha") is running  # no second process
    assert len(tagged_pids(tag)) == 1
    assert "alpha" in stack.start_times


def test_a_needed_role_comes_from_another_target(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    pds = manifest(
        "pdsimpl",
        service(tag, "pds", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}", "PLC_PORT": "{plc.port}"}),
    )
    plc = manifest("plcimpl", service(tag, "plc", ["plc"]))
    stack = new_stack(tmp_path, {"pdsimpl": pds, "plcimpl": plc})
    stacks.append(stack)
    running = stack.start("pdsimpl")
    pds_endpoint, plc_endpoint = running.endpoint(Role.PDS), running.endpoint(Role.PLC)
    assert pds_endpoint is not None and plc_endpoint is not None
    assert plc_endpoint.target == "plcimpl"
    assert env_of(pds_endpoint.url, "PLC_URL") == plc_endpoint.url
    assert env_of(pds_endpoint.url, "PLC_PORT") == str(port_of(plc_endpoint.url))
    # Starting the provider later reuses its running service.
    assert stack.start("plcimpl").endpoint(Role.PLC) == plc_endpoint
    assert len(stack.running_services()) == 2 and len(tagged_pids(tag)) == 2


def test_a_service_in_front_of_another_needs_it_by_name(
    tmp_path: Path, tag: Path, stacks: list[Stack]
) -> None:
    """A fault-injecting proxy plays the PDS in front of the real one: suites and other targets get the
    proxy, and only the proxy reaches the PDS behind it, by the PDS service's name."""
    proxied = manifest(
        "proxied",
        service(tag, "upstream", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}"}),  # listed first
        service(tag, "front", ["pds"], needs=["upstream"], env={"BEHIND": "{upstream.url}"}),
        service(tag, "plc", ["plc"]),
    )
    relay = manifest("relayimpl", service(tag, "relay", ["relay"], needs=["pds"], env={"PDS": "{pds.url}"}))
    stack = new_stack(tmp_path, {"proxied": proxied, "relayimpl": relay})
    stacks.append(stack)
    running = stack.start("proxied")
    pds = running.endpoint(Role.PDS)
    assert pds is not None and pds.service == "front"
    upstream = next(e for s in stack.running_services() for e in s.endpoints if e.service == "upstream")
    assert env_of(pds.url, "BEHIND") == upstream.url != pds.url
    relay_endpoint = stack.start("relayimpl").endpoint(Role.RELAY)
    assert relay_endpoint is not None and env_of(relay_endpoint.url, "PDS") == pds.url
    assert len(tagged_pids(tag)) == 4


def test_services_that_need_each_other_by_name_are_a_cycle(
    tmp_path: Path, tag: Path, stacks: list[Stack]
) -> None:
    loop = manifest("loop", service(tag, "a", ["pds"], needs=["b"]), service(tag, "b", ["plc"], needs=["a"]))
    stack = new_stack(tmp_path, {"loop": loop})
    stacks.append(stack)
    with pytest.raises(ManifestError, match="services need each other in a cycle: loop/a -> loop/b"):
        stack.start("loop")
    assert not tagged_pids(tag)


def test_two_targets_share_one_provider(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    def pds(name: str) -> TargetManifest:
        return manifest(name, service(tag, "pds", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}"}))

    plc = manifest("plcimpl", service(tag, "plc", ["plc"]))
    targets = {"one": pds("one"), "two": pds("two"), "plcimpl": plc}
    stack = new_stack(tmp_path, targets)
    stacks.append(stack)
    one, two = stack.start("one"), stack.start("two")
    assert one.endpoint(Role.PLC) == two.endpoint(Role.PLC)
    assert len(tagged_pids(tag)) == 3


def test_own_service_provides_a_role_first(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    both = manifest(
        "both",
        service(tag, "pds", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}"}),  # listed first
        service(tag, "plc", ["plc"]),
    )
    other_plc = manifest("otherplc", service(tag, "plc", ["plc"]))
    stack = new_stack(tmp_path, {"both": both, "otherplc": other_plc})
    stacks.append(stack)
    running = stack.start("both")
    plc = running.endpoint(Role.PLC)
    pds = running.endpoint(Role.PDS)
    assert plc is not None and pds is not None and plc.target == "both"
    assert env_of(pds.url, "PLC_URL") == plc.url
    assert len(tagged_pids(tag)) == 2  # otherplc was not started


def test_fallback_provider_when_no_target_provides(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    pds = manifest("pdsimpl", service(tag, "pds", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}"}))
    fallback = [manifest("refplc", service(tag, "plc", ["plc"]))]
    stack = new_stack(tmp_path, {"pdsimpl": pds}, fallback_providers=fallback)
    stacks.append(stack)
    plc = stack.start("pdsimpl").endpoint(Role.PLC)
    assert plc is not None and plc.target == "refplc"


def test_a_helper_comes_from_the_run_or_the_fallback_and_starts_once(
    tmp_path: Path, tag: Path, stacks: list[Stack]
) -> None:
    """A library's tests borrow the reference's PDS (and its PLC) as helpers: started on first use, once."""
    lib = manifest("libimpl", service(tag, "harness", ["relay"]))
    ref = manifest("ref", service(tag, "pds", ["pds"], needs=["plc"]), service(tag, "plc", ["plc"]))
    stack = new_stack(tmp_path, {"libimpl": lib}, fallback_providers=[ref])
    stacks.append(stack)
    owner, pds = stack.helper(Role.PDS, "libimpl", "ref")
    assert owner.name == "ref" and pds.target == "ref" and pds.role == Role.PDS
    _, plc = stack.helper(Role.PLC, "libimpl", "ref")
    assert plc.target == "ref" and len(stack.running_services()) == 2  # the PDS's PLC, not a second one
    assert stack.helper(Role.PDS, "libimpl", "ref")[1] == pds
    with pytest.raises(LaunchError, match=r"^no target nope can provide a pds for libimpl$"):
        stack.helper(Role.PDS, "libimpl", "nope")
    with pytest.raises(LaunchError, match=r"^target ref has no labeler service$"):
        stack.helper(Role.LABELER, "libimpl", "ref")


def test_a_needed_role_nobody_provides(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    pds = manifest("lonely", service(tag, "pds", ["pds"], needs=["relay"]))
    stack = new_stack(tmp_path, {"lonely": pds})
    stacks.append(stack)
    expected = r"^target lonely needs a relay and no target of the run provides one$"
    with pytest.raises(LaunchError, match=expected):
        stack.start("lonely")
    assert not wait_gone(tag)


def test_needs_in_a_cycle_are_a_manifest_error(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    a = manifest("a", service(tag, "pds", ["pds"], needs=["plc"]))
    b = manifest("b", service(tag, "plc", ["plc"], needs=["pds"]))
    stack = new_stack(tmp_path, {"a": a, "b": b})
    stacks.append(stack)
    with pytest.raises(ManifestError, match="services need each other in a cycle: a/pds -> b/plc"):
        stack.start("a")
    assert not wait_gone(tag)


def test_a_failure_is_remembered_and_not_retried(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    stack = new_stack(tmp_path, {"broken": manifest("broken", service(tag, "pds", ["pds"], mode="die"))})
    stacks.append(stack)
    with pytest.raises(LaunchError, match="exit code 3") as first:
        stack.start("broken")
    assert stack.failure("broken") is first.value
    began = time.monotonic()
    with pytest.raises(LaunchError) as second:
        stack.start("broken")
    assert second.value is first.value
    assert time.monotonic() - began < 0.5
    log = (tmp_path / "logs" / "broken-pds.log").read_text()
    assert log.count("# atcheck: ") == 1  # spawned once only
    assert stack.failure("other") is None


def test_an_unreachable_url_target_is_remembered(tmp_path: Path, stacks: list[Stack]) -> None:
    remote = url_manifest(f"http://127.0.0.1:{free_port()}")
    stack = new_stack(tmp_path, {remote.name: remote})
    stacks.append(stack)
    assert stack.targets[remote.name].launcher == "url"
    with pytest.raises(TargetUnreachable):
        stack.start(remote.name)
    assert isinstance(stack.failure(remote.name), TargetUnreachable)


def test_secrets_are_per_target_and_shared_by_its_services(
    tmp_path: Path, tag: Path, stacks: list[Stack]
) -> None:
    """Two targets (even of one manifest, as reference and reference@container) never share a secret: a
    JWT secret or rotation key in common would let one PDS accept the other's tokens."""
    targets = {
        name: manifest(
            name,
            service(tag, "plc", ["plc"], env={"S": "{secret:shared}"}),
            service(tag, "pds", ["pds"], env={"S": "{secret:shared}"}),
        )
        for name in ("x", "y")
    }
    stack = new_stack(tmp_path, targets)
    stacks.append(stack)
    x, y = (stack.start(n) for n in ("x", "y"))
    x_pds, x_plc, y_pds = x.endpoint(Role.PDS), x.endpoint(Role.PLC), y.endpoint(Role.PDS)
    assert x_pds is not None and x_plc is not None and y_pds is not None
    assert env_of(x_pds.url, "S") == env_of(x_plc.url, "S") == stack.secrets.get("secret", "x/shared")
    assert env_of(y_pds.url, "S") == stack.secrets.get("secret", "y/shared") != env_of(x_pds.url, "S")
    assert {env_of(x_pds.url, "S"), env_of(y_pds.url, "S")} <= set(stack.all_secrets())


def test_stop_all_and_run_close_leave_nothing_behind(tmp_path: Path, tag: Path) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="atcheck-selftest-", dir=tmp_path))
    ctx = LaunchContext(run_id="selftest", run_dir=scratch, log_dir=tmp_path / "report" / "logs")
    pds = manifest("pdsimpl", service(tag, "pds", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}"}))
    half = manifest(  # its first service starts, its second dies: the first must still be stopped
        "half", service(tag, "plc", ["plc"]), service(tag, "pds", ["pds"], mode="die")
    )
    targets = {"pdsimpl": TargetSpec.of(pds), "half": TargetSpec.of(half)}
    stack = Stack(targets.values(), ctx)
    report_dir = tmp_path / "report"
    run = Run(run_id="selftest", report_dir=report_dir, targets=targets, stack=stack, scratch_dir=scratch)
    try:
        running = stack.start("pdsimpl")
        with pytest.raises(LaunchError):
            stack.start("half")
        urls = [e.url for s in stack.running_services() for e in s.endpoints]
        assert running.endpoint(Role.PDS) is not None and len(urls) == 2
        assert (scratch / "data" / "pdsimpl" / "pds").is_dir()
    finally:
        run.close()
    assert not wait_gone(tag)
    assert all(port_closed(port_of(url)) for url in urls)
    assert not scratch.exists()
    assert stack.running_services() == []
    run.close()  # twice is fine
    assert (tmp_path / "report" / "logs" / "pdsimpl-pds.log").is_file()  # logs are kept


def test_a_failed_provider_is_remembered_too(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    def pds(name: str) -> TargetManifest:
        return manifest(name, service(tag, "pds", ["pds"], needs=["plc"]))

    plc = manifest("plcimpl", service(tag, "plc", ["plc"], mode="die"))
    stack = new_stack(tmp_path, {"one": pds("one"), "two": pds("two"), "plcimpl": plc})
    stacks.append(stack)
    for name in ("one", "two", "plcimpl"):
        with pytest.raises(LaunchError, match="exit code 3"):
            stack.start(name)
    log = (tmp_path / "logs" / "plcimpl-plc.log").read_text()
    assert log.count("# atcheck: ") == 1, "the broken PLC was launched once per target that needs it"


def test_a_service_with_a_url_is_served_by_the_service_it_needs(
    tmp_path: Path, tag: Path, stacks: list[Stack]
) -> None:
    """One process, two services (dev-env's shape): the second has a ``url`` and no process of its own."""
    main = service(tag, "main", ["labeler"], env={"EXTRA": "{port:extra}"})
    attached = {
        "name": "view",
        "roles": ["appview"],
        "needs": ["main"],
        "url": "http://127.0.0.1:{main.port}",
        "health": {"path": "/xrpc/_health", "timeout": 5},
    }
    stack = new_stack(tmp_path, {"multi": manifest("multi", main, attached)})
    stacks.append(stack)
    running = stack.start("multi")
    labeler, appview = running.endpoint(Role.LABELER), running.endpoint(Role.APPVIEW)
    assert labeler is not None and appview is not None
    assert appview.url == labeler.url and appview.service == "view"
    assert len(stack.running_services()) == 2 and len(tagged_pids(tag)) == 1
    # {port:NAME} is a real free port, the same for every service of the target that names it.
    assert int(str(env_of(labeler.url, "EXTRA"))) == stack.secrets.port("multi/extra")
    stack.stop_all()
    assert port_closed(port_of(labeler.url)) and not wait_gone(tag)


def test_a_provider_that_cannot_start_is_passed_over(tmp_path: Path, tag: Path, stacks: list[Stack]) -> None:
    """A PLC borrowed from a broken target (ozone not installed, say) comes from the next provider."""
    pds = manifest("pdsimpl", service(tag, "pds", ["pds"], needs=["plc"], env={"PLC_URL": "{plc.url}"}))
    broken = manifest("broken", service(tag, "plc", ["plc"], mode="die"))
    fallback = manifest("fallback", service(tag, "plc", ["plc"]))
    stack = new_stack(tmp_path, {"broken": broken, "pdsimpl": pds}, fallback_providers=[fallback])
    stacks.append(stack)
    running = stack.start("pdsimpl")
    plc = running.endpoint(Role.PLC)
    assert plc is not None and plc.target == "fallback"
    with pytest.raises(LaunchError, match="exit code 3"):
        stack.start("broken")  # its own failure is still reported, once


def test_a_private_instance_gets_its_env_and_is_given_to_no_relay(
    tmp_path: Path, tag: Path, stacks: list[Stack]
) -> None:
    """``start_instance(env=..., private=True)``: the instance's services get the extra environment, and a
    service that needs every PDS of the run (a relay) started afterwards is not given it."""
    pds = manifest("pdsimpl", service(tag, "pds", ["pds"], env={"KEEP": "mine", "WINDOW": "default"}))
    relay = manifest("relayimpl", {**service(tag, "relay", ["relay"]), "needs_all": ["pds"]})
    stack = new_stack(tmp_path, {"pdsimpl": pds, "relayimpl": relay})
    stacks.append(stack)
    stack.start("pdsimpl")
    instance = stack.start_instance("pdsimpl", 3, env={"WINDOW": "short"}, private=True)
    url = instance.endpoint(Role.PDS).url  # type: ignore[union-attr]
    assert instance.name == "pdsimpl#3"
    assert env_of(url, "WINDOW") == "short" and env_of(url, "KEEP") == "mine"
    followed = [e.target for e in stack.start("relayimpl").needs_all.get(Role.PDS, [])]
    assert followed == ["pdsimpl"]
    stack.stop_instance("pdsimpl#3")
    assert port_closed(port_of(url))
