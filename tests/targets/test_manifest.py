"""Target manifests: valid ones load into the model; each mistake is one ManifestError line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck.errors import ManifestError
from atcheck.targets.manifest import (
    KNOWN_CAPABILITIES,
    builtin_manifests,
    load_manifest,
    resolve_target,
    url_manifest,
)
from atcheck.targets.model import Role

GOOD = """
name = "fake"
implementation = "fake-pds"
version = "1.0"
description = "a fake"
capabilities = ["account.create", "repo.write"]

[[service]]
name = "plc"
roles = ["plc"]
health = { path = "/_health", timeout = 5 }
[service.process]
command = ["{python}", "plc.py", "--port", "{port}"]

[[service]]
name = "pds"
roles = ["pds"]
needs = ["plc"]
did = "did:web:localhost%3A{port}"
credentials = { admin_password = "{secret:admin}" }
[service.process]
command = ["{python}", "pds.py", "--port", "{port}"]
env = { PLC_URL = "{plc.url}", WORKERS = 2 }
requires = []
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fake.toml"
    path.write_text(text, encoding="utf-8")
    return path


def manifest_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifest(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_a_valid_manifest_loads_into_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    manifest = load_manifest(path)
    assert manifest.name == "fake" and manifest.implementation == "fake-pds" and manifest.version == "1.0"
    assert manifest.source == path
    assert manifest.roles == (Role.PLC, Role.PDS)
    assert manifest.capabilities == frozenset({"account.create", "repo.write"})
    assert manifest.supports("repo.write") and not manifest.supports("admin")
    plc, pds = manifest.services
    assert plc.health.path == "/_health" and plc.health.timeout_s == 5.0
    assert pds.needs == (Role.PLC,)
    assert pds.process is not None
    assert pds.process.command == ("{python}", "pds.py", "--port", "{port}")
    assert pds.process.env == {"PLC_URL": "{plc.url}", "WORKERS": "2"}  # ints become strings
    assert pds.credentials == {"admin_password": "{secret:admin}"}
    assert pds.health.path == "/" and pds.health.timeout_s == 60.0  # defaults


def test_builtin_manifests_load() -> None:
    builtins = builtin_manifests()
    assert "reference" in builtins
    reference = builtins["reference"]
    assert Role.PDS in reference.roles and Role.PLC in reference.roles
    assert reference.capabilities <= KNOWN_CAPABILITIES


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # unknown keys, at every level
        ('description = "a fake"', 'descripton = "a fake"', "unknown key(s) descripton"),
        ('roles = ["plc"]', 'roles = ["plc"]\ncolour = "red"', "service[0]: unknown key(s) colour"),
        (
            'command = ["{python}", "plc.py"',
            'cmd = ["x"]\ncommand = ["{python}", "plc.py"',
            "service[0].process: unknown key(s) cmd",
        ),
        ("timeout = 5 }", "timeout = 5, retries = 3 }", "service[0].health: unknown key(s) retries"),
        (
            '{ admin_password = "{secret:admin}" }',
            '{ root_password = "x" }',
            "service[1].credentials: unknown key(s) root_password",
        ),
        # unknown roles
        (
            'roles = ["plc"]',
            'roles = ["plc", "bgs"]',
            "service[0].roles[1]: unknown role 'bgs' (known: pds, plc",
        ),
        ('needs = ["plc"]', 'needs = ["directory"]', "service[1].needs[0]: unknown role 'directory'"),
        # a service that plays a role and needs one must name the service it needs
        ('needs = ["plc"]', 'needs = ["pds"]', "service[1].needs[0]: service 'pds' plays pds and needs one"),
        (
            'needs = ["plc"]',
            'needs = ["pds", "plc"]',
            "service 'pds' plays pds and needs one: name the service",
        ),
        # missing pieces
        (
            'command = ["{python}", "plc.py", "--port", "{port}"]',
            "env = {}",
            "service[0].process: 'command' is required",
        ),
        (
            'command = ["{python}", "plc.py", "--port", "{port}"]',
            "command = []",
            "service[0].process.command: must not be empty",
        ),
        (
            'command = ["{python}", "plc.py", "--port", "{port}"]',
            'command = "python plc.py"',
            "service[0].process.command: expected list, got str",
        ),
        ('name = "fake"\n', "", "'name' is required"),
        ('version = "1.0"\n', "", "'version' is required"),
        ('name = "plc"\nroles = ["plc"]', 'name = "plc"', "service[0]: a service needs 'name' and 'roles'"),
        ('name = "plc"', 'name = "pds"', "service names must be unique"),
        # wrong values
        (
            'capabilities = ["account.create", "repo.write"]',
            'capabilities = ["repo.write", "teleport"]',
            "unknown capabilities ['teleport']",
        ),
        ('description = "a fake"', 'provisioning = "magic"', "provisioning must be xrpc, wrapper or given"),
        ("timeout = 5", 'timeout = "soon"', "service[0].health: expected int or float, got str"),
    ],
)
def test_manifest_mistakes_are_one_line_errors_naming_the_key(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    message = manifest_error(tmp_path, GOOD.replace(old, new, 1))
    assert expected in message
    assert message.startswith(str(tmp_path / "fake.toml"))


def test_a_service_without_a_way_to_start_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('[service.process]\ncommand = ["{python}", "plc.py", "--port", "{port}"]\n', "", 1)
    assert "service[0]: a service needs [process], [container] or url" in manifest_error(tmp_path, text)


def test_no_service_is_an_error(tmp_path: Path) -> None:
    text = 'name = "x"\nimplementation = "y"\nversion = "1"\n'
    assert "at least one [[service]] is required" in manifest_error(tmp_path, text)


@pytest.mark.parametrize("url", ["ftp://example.test", "localhost:2583", "http://", "not a url"])
def test_a_bad_service_url_is_an_error(tmp_path: Path, url: str) -> None:
    head = 'name = "x"\nimplementation = "y"\nversion = "1"\n'
    text = f'{head}[[service]]\nname = "pds"\nroles = ["pds"]\nurl = "{url}"\n'
    assert f"service[0].url: {url!r} is not an http(s) URL with a host" in manifest_error(tmp_path, text)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    assert "invalid TOML" in manifest_error(tmp_path, GOOD.replace('name = "fake"', "name = fake"))
    with pytest.raises(ManifestError, match="no such manifest"):
        load_manifest(tmp_path / "absent.toml")


def test_a_fixed_port_can_be_declared(tmp_path: Path) -> None:
    """ProcessSpec.port exists for software that cannot be told a port; a manifest must be able to set it."""
    text = GOOD.replace(
        'command = ["{python}", "plc.py", "--port", "{port}"]',
        'command = ["{python}", "plc.py"]\nport = 2582',
        1,
    )
    manifest = load_manifest(write(tmp_path, text))
    assert manifest.services[0].process is not None
    assert manifest.services[0].process.port == 2582


@pytest.mark.parametrize("value", ["0", "65536", "-1", '"2582"', "true", "25.82"])
def test_a_fixed_port_must_be_a_tcp_port(tmp_path: Path, value: str) -> None:
    text = GOOD.replace(
        'command = ["{python}", "plc.py", "--port", "{port}"]',
        f'command = ["{{python}}", "plc.py"]\nport = {value}',
        1,
    )
    assert "service[0].process.port: " in manifest_error(tmp_path, text)


@pytest.mark.parametrize(("key", "value"), [("did", "5"), ("cwd", "[1, 2]")])
def test_string_keys_are_type_checked(tmp_path: Path, key: str, value: str) -> None:
    """A wrong type must be a ManifestError at load time, not a TypeError traceback at launch."""
    anchor = 'name = "plc"\nroles = ["plc"]' if key == "did" else "requires = []"
    text = GOOD.replace(anchor, f"{anchor}\n{key} = {value}", 1)
    assert key in manifest_error(tmp_path, text)


def test_resolve_target_kinds(tmp_path: Path) -> None:
    assert resolve_target(str(write(tmp_path, GOOD))).name == "fake"
    assert resolve_target("reference").name == "reference"
    remote = resolve_target("http://127.0.0.1:2583/")
    assert remote.name == "url:127.0.0.1:2583"
    assert remote.services[0].url == "http://127.0.0.1:2583"
    with pytest.raises(ManifestError, match=r"unknown target 'nope': not a built-in \(.*reference"):
        resolve_target("nope")
    with pytest.raises(ManifestError, match="is not an http"):
        url_manifest("ftp://127.0.0.1/")


def test_a_short_window_is_read_by_age_or_by_count(tmp_path: Path) -> None:
    anchor = 'credentials = { admin_password = "{secret:admin}" }'
    by_age = GOOD.replace(anchor, anchor + '\nshort_window = { env = { WINDOW_MS = "20000" }, seconds = 20 }')
    window = load_manifest(write(tmp_path, by_age)).services[1].short_window
    assert window is not None and window.env == {"WINDOW_MS": "20000"}
    assert (window.seconds, window.events) == (20.0, None)
    by_count = GOOD.replace(anchor, anchor + "\nshort_window = { env = { KEEP = 5 }, events = 5 }")
    window = load_manifest(write(tmp_path, by_count)).services[1].short_window
    assert window is not None and (window.env, window.seconds, window.events) == ({"KEEP": "5"}, None, 5)
    assert load_manifest(write(tmp_path, GOOD)).services[1].short_window is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{ seconds = 20 }", "needs 'env' and exactly one of 'seconds' or 'events'"),
        ("{ env = {}, seconds = 20, events = 5 }", "exactly one of 'seconds' or 'events'"),
        ("{ env = {} }", "exactly one of 'seconds' or 'events'"),
        ("{ env = {}, seconds = 0 }", "short_window.seconds: must be positive"),
        ("{ env = {}, events = 0 }", "short_window.events: must be at least 1"),
        ('{ env = {}, events = "5" }', "short_window.events: expected int, got str"),
        ("{ env = {}, events = 5, size = 2 }", "short_window: unknown key(s) size"),
    ],
)
def test_short_window_mistakes_are_one_line_errors(tmp_path: Path, value: str, expected: str) -> None:
    anchor = 'credentials = { admin_password = "{secret:admin}" }'
    message = manifest_error(tmp_path, GOOD.replace(anchor, f"{anchor}\nshort_window = {value}"))
    assert f"service[1].{expected}" in message or expected in message


def test_the_builtin_pds_targets_declare_a_short_window() -> None:
    """SYNC-ES-13 runs on a short-window instance of each default PDS target (firehose suite)."""
    for name in ("reference", "arroba"):
        pds = resolve_target(name).provider(Role.PDS)
        assert pds is not None and pds.short_window is not None, name
