"""Placeholders in manifest commands, env and credentials: every kind resolves, mistakes are one line."""

from __future__ import annotations

import re

import pytest

from atcheck.errors import ManifestError, SetupError
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.templating import _K256_N, RunSecrets, TemplateScope

PLC = ServiceEndpoint(target="ref", service="plc", role=Role.PLC, url="http://127.0.0.1:4321", did=None)
PDS = ServiceEndpoint(
    target="ref", service="pds", role=Role.PDS, url="http://127.0.0.1:5555", did="did:web:localhost%3A5555"
)


def scope(**kwargs: object) -> TemplateScope:
    defaults: dict[str, object] = {
        "port": 2583,
        "data_dir": "/run/data/pds",
        "log_dir": "/run/logs",
        "tools": {"node22": "/opt/node/bin/node"},
        "needs": {Role.PLC: PLC, Role.PDS: PDS},
        "extra": {"python": "/venv/bin/python", "implementations": "/repo/implementations"},
    }
    defaults.update(kwargs)
    return TemplateScope(**defaults)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{port}", "2583"),
        ("{host}", "127.0.0.1"),
        ("{data_dir}/blobs", "/run/data/pds/blobs"),
        ("{log_dir}", "/run/logs"),
        ("{tool:node22}", "/opt/node/bin/node"),
        ("{python}", "/venv/bin/python"),
        ("{implementations}/arroba/server.py", "/repo/implementations/arroba/server.py"),
        ("{plc.url}", "http://127.0.0.1:4321"),
        ("{plc.port}", "4321"),
        ("{plc.host_url}", "http://localhost:4321"),
        ("{pds.did}", "did:web:localhost%3A5555"),
        ("--listen={host}:{port}", "--listen=127.0.0.1:2583"),
        ("{{port}}", "{port}"),
        ("{{{port}}}", "{2583}"),
        ('json: {{"a": 1}}', 'json: {"a": 1}'),
        ("no placeholders", "no placeholders"),
        ("lone { and } stay", "lone { and } stay"),
    ],
)
def test_placeholders_render(template: str, expected: str) -> None:
    assert scope().render(template, "test") == expected


def test_self_did_is_an_extra_once_rendered() -> None:
    s = scope()
    did = s.render("did:web:localhost%3A{port}", "did")
    s.extra = {**s.extra, "self.did": did}
    assert s.render("{self.did}", "env") == "did:web:localhost%3A2583"


def test_env_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATCHECK_TEST_VALUE", "from-env")
    monkeypatch.delenv("ATCHECK_TEST_UNSET", raising=False)
    assert scope().render("{env:ATCHECK_TEST_VALUE}", "x") == "from-env"
    assert scope().render("[{env:ATCHECK_TEST_UNSET}]", "x") == "[]"


def test_tool_resolver_is_asked_for_tools_not_in_the_context() -> None:
    asked: list[str] = []

    def resolver(name: str) -> str:
        asked.append(name)
        return f"/tools/{name}"

    assert scope(tool_resolver=resolver).render("{tool:node22} {tool:arroba_python}", "x") == (
        "/opt/node/bin/node /tools/arroba_python"
    )
    assert asked == ["arroba_python"]


def test_unknown_tool_without_resolver_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match=r"^svc\.command: tool 'rustc' is not known$"):
        scope().render("{tool:rustc}", "svc.command")


def test_unknown_tool_through_the_real_resolver_is_a_setup_error() -> None:
    from atcheck.tools import resolve_tool

    with pytest.raises(SetupError, match="unknown tool 'rustc'"):
        scope(tool_resolver=resolve_tool).render("{tool:rustc}", "x")


def test_secrets_are_made_once_per_run_and_shared() -> None:
    run = RunSecrets()
    first = scope(secrets=run).render("{secret:admin}", "a")
    again = scope(secrets=run).render("{secret:admin}", "b")  # another service of the same run
    other = scope(secrets=run).render("{secret:jwt}", "c")
    assert first == again
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert other != first
    assert sorted(run.all()) == sorted([first, other])
    next_run = scope(secrets=RunSecrets()).render("{secret:admin}", "d")
    assert next_run != first


def test_k256_keys_are_valid_private_keys_made_once() -> None:
    run = RunSecrets()
    key = scope(secrets=run).render("{k256key:rotation}", "x")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert 0 < int(key, 16) < _K256_N
    assert scope(secrets=run).render("{k256key:rotation}", "y") == key
    assert key in run.all()
    # the same name in another kind is another secret
    assert scope(secrets=run).render("{secret:rotation}", "z") != key


def test_render_map_names_the_key_in_errors() -> None:
    assert scope().render_map({"PORT": "{port}", "PLC": "{plc.url}"}, "env") == {
        "PORT": "2583",
        "PLC": "http://127.0.0.1:4321",
    }
    with pytest.raises(ManifestError, match=r"^target x\.env\.BAD: unknown placeholder \{nope\}$"):
        scope().render_map({"OK": "{port}", "BAD": "{nope}"}, "target x.env")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{nope}", "unknown placeholder {nope}"),
        ("{PORT}", "unknown placeholder {PORT}"),
        ("{secret}", "unknown placeholder {secret}"),
        ("{vault:admin}", "unknown placeholder {vault:admin}"),
        ("{bgs.url}", "unknown placeholder {bgs.url}"),
        ("{plc.hostname}", "unknown placeholder {plc.hostname}"),
        ("{plc.did}", "unknown placeholder {plc.did}"),  # the PLC endpoint has no DID
        ("{relay.url}", "{relay.url} needs the role 'relay'; add it to the service's needs"),
        ("{self.did}", "unknown placeholder {self.did}"),  # no DID rendered for this service
    ],
)
def test_placeholder_mistakes_are_one_line_errors(template: str, expected: str) -> None:
    with pytest.raises(ManifestError) as info:
        scope().render(template, "target t, service s.command")
    assert str(info.value) == f"target t, service s.command: {expected}"


def test_port_is_unknown_where_there_is_none() -> None:
    """The URL launcher has no port of its own: {port} must not silently become an empty string."""
    with pytest.raises(ManifestError, match=r"unknown placeholder \{port\}"):
        scope(port=None).render("{port}", "creds")


def test_port_placeholders_are_free_ports_shared_within_a_target() -> None:
    secrets = RunSecrets()
    one = scope(secrets=secrets, secret_namespace="ozone")
    again = scope(secrets=secrets, secret_namespace="ozone")
    other = scope(secrets=secrets, secret_namespace="ozone@container")
    port = one.render("{port:appview}", "test")
    assert port.isdigit() and 1024 <= int(port) < 65536
    assert again.render("{port:appview}", "test") == port  # every service of the target sees one port
    assert one.render("{port:pds}", "test") != port
    assert other.render("{port:appview}", "test") != port  # another instance of the manifest: its own
    assert port not in secrets.all()  # a port is not a secret: reports keep it
