"""A selfcheck end to end on a fake: a fault the fake suite catches is killed, one it cannot see survives,
and both reach selfcheck.json and selfcheck.html, survivors first.

The target is the plugin self-tests' fake PDS, started by the process launcher behind a real proxy; the
suite is a small one written into a temp folder; each run is a real worker process.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from atcheck.selfcheck.faults import Fault
from atcheck.selfcheck.matrix import write_matrix
from atcheck.selfcheck.proxy import Exchange
from atcheck.selfcheck.runner import selfcheck
from atcheck.targets.manifest import load_manifest
from atcheck.targets.spec import TargetSpec

FAKE = Path(__file__).resolve().parents[1] / "run" / "fake_pds.py"

SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.checks import expect_equal, expect_ok

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_describe_names_the_server(pds):
        resp = pds.query("com.atproto.server.describeServer")
        expect_equal(expect_ok(resp).get("did"), "did:web:fake.test", "describeServer's did", resp)
    """
)


def _drop_did(ex: Exchange) -> bool:
    body = ex.json()
    if ex.nsid == "com.atproto.server.describeServer" and isinstance(body, dict):
        body.pop("did", None)
        ex.set_json(body)
        return True
    return False


def _extra_header(ex: Exchange) -> bool:
    ex.headers["x-harmless"] = "1"
    return True


CAUGHT = Fault("did-dropped", "xrpc", "pds", ("fake",), "describeServer loses its did", on_response=_drop_did)
UNSEEN = Fault(
    "extra-header", "xrpc", "pds", ("fake",), "an extra header", on_response=_extra_header,
    survives="no rule forbids an extra header",
)  # fmt: skip


def _manifest(tmp_path: Path) -> TargetSpec:
    path = tmp_path / "fake.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "fake"
            implementation = "fake-pds"
            version = "0"
            provisioning = "given"
            capabilities = ["server.describe"]

            [[service]]
            name = "pds"
            roles = ["pds"]
            health = {{ path = "/xrpc/_health", timeout = 5 }}
            [service.process]
            command = ["{{python}}", "{FAKE}", "{{port}}", "{tmp_path / "fake.pid"}"]
            """
        ),
        encoding="utf-8",
    )
    return TargetSpec.of(load_manifest(path), "process")


def test_a_caught_fault_is_killed_and_an_unseen_one_survives(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    (suites / "fake").mkdir(parents=True)
    (suites / "fake" / "test_fake.py").write_text(SUITE, encoding="utf-8")
    out = tmp_path / "out"
    check = selfcheck([_manifest(tmp_path)], [CAUGHT, UNSEEN], out, suites_root=suites)
    rows = {r.fault: r for r in check.results}
    assert rows["did-dropped"].killed, rows
    assert [t.rsplit("::", 1)[-1] for t in rows["did-dropped"].tests] == ["test_describe_names_the_server"]
    assert rows["did-dropped"].applied >= 1
    assert not rows["extra-header"].killed and rows["extra-header"].applied >= 1
    written = write_matrix(check, out)
    matrix = json.loads(written["json"].read_text())
    assert [r["fault"] for r in matrix] == ["extra-header", "did-dropped"]  # survivors first
    assert {"fault", "area", "killed", "tests"} <= set(matrix[0])
    assert matrix[0]["survives"] == "no rule forbids an extra header"
    page = written["html"].read_text()
    assert "SURVIVED" in page and "extra-header" in page and "Content-Security-Policy" in page
    pid = int((tmp_path / "fake.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the target was stopped


def test_a_relay_is_started_beside_the_pds_it_follows_and_keeps_following_it_behind_the_proxy() -> None:
    """Alone, a relay follows no PDS and every relay test skips; the selfcheck starts the reference beside
    it, and the relay's URL target still needs every PDS, so the worker's run hands it the reference's."""
    from atcheck.selfcheck.runner import upstreams_of, url_target
    from atcheck.targets.manifest import builtin_manifests
    from atcheck.targets.model import Credentials, Role, ServiceEndpoint

    manifests = builtin_manifests()
    relay = TargetSpec.of(manifests["indigo-relay"], "process")
    assert [t.name for t in upstreams_of(relay)] == ["reference"]
    assert upstreams_of(TargetSpec.of(manifests["reference"], "process")) == []
    endpoints = {
        role: ServiceEndpoint(
            "indigo-relay", role.value, role, f"http://127.0.0.1:{port}", None, Credentials()
        )
        for role, port in ((Role.RELAY, 1), (Role.PLC, 2))
    }
    proxied = url_target(relay, endpoints, {Role.RELAY: "http://127.0.0.1:3", Role.PLC: "http://127.0.0.1:4"})
    services = {s.roles[0]: s for s in proxied.manifest.services}
    assert proxied.launcher == "url" and services[Role.RELAY].url == "http://127.0.0.1:3"
    assert services[Role.RELAY].needs_all == (Role.PDS,) and services[Role.PLC].needs_all == ()


def test_a_worker_deselects_the_tests_of_its_peers() -> None:
    """The reference beside a relay is in the run for the relay to follow; its own tests are not run."""
    from types import SimpleNamespace

    from atcheck.selfcheck.worker import JudgeOnly

    deselected: list[object] = []
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    relay, peer, plain = (
        SimpleNamespace(callspec=SimpleNamespace(params={"target": "indigo-relay"})),
        SimpleNamespace(callspec=SimpleNamespace(params={"target": "reference"})),
        SimpleNamespace(),
    )
    items = [relay, peer, plain]
    JudgeOnly(("reference",)).pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert items == [relay, plain] and deselected == [peer]
