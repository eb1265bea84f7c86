"""Read and check target manifests (TOML).

A manifest names an implementation and lists its services. Built-in manifests ship in
``atcheck/targets/builtin/``; users pass their own as ``--target path/to/manifest.toml``, or a bare URL for an
already-running server. Every mistake is reported as one :class:`~atcheck.errors.ManifestError` line naming
the file and the key.

Example::

    name = "mypds"
    implementation = "my-pds"
    version = "1.2.3"
    description = "My PDS, started from source"
    capabilities = ["account.create", "repo.write", "sync.get-repo"]

    [[service]]
    name = "pds"
    roles = ["pds"]
    needs = ["plc"]                       # filled by the run's PLC unless this target has one
    # needs_all = ["pds"]                # every PDS of the other targets ({all:pds.url}), e.g. for a relay
    health = { path = "/xrpc/_health", timeout = 60 }
    credentials = { admin_password = "{secret:admin}" }
    [service.process]
    command = ["./run-my-pds", "--port", "{port}"]
    env = { PLC_URL = "{plc.url}", ADMIN_PASSWORD = "{secret:admin}" }

**What a service needs.** Each entry of ``needs`` is either a role or the name of another service of the same
target. An entry that spells a role (``pds``, ``plc``, ``relay``, ``appview``, ``labeler``) is that role: it
comes from a service of this target that plays it, else from another target of the run, else from the
built-in reference (see :mod:`atcheck.targets.stack`), and templates say ``{plc.url}``. Any other entry must
name a service of this target, which then starts first, and templates say ``{NAME.url}`` (also ``.did``,
``.port``, ``.host_url``). Give such a service a name that is not a role, of letters, digits, ``_`` and ``-``.

**A service that needs a role it also plays** (a fault-injecting proxy in front of the PDS, say) must name
the service it stands in front of: ``needs = ["pds"]`` from a service that plays ``pds`` is a manifest
error, since it could only mean itself or an arbitrary other PDS. The one in front then plays the role for
everyone else: suites, other targets, and other services of the target asking by role get the proxy; the
service behind it is reached only by name::

    [[service]]
    name = "upstream"                     # the real PDS, behind the proxy
    roles = ["pds"]
    needs = ["plc"]
    ...
    [[service]]
    name = "faults"                       # what suites talk to as the target's PDS
    roles = ["pds"]
    needs = ["upstream"]
    [service.process]
    command = ["{python}", "fault_proxy.py", "--port", "{port}", "--upstream", "{upstream.url}"]

A service "stands behind" when another service of its target needs it by name; when several services play
a role and none stands behind, the first in the manifest plays it.

**A short replay window.** A PDS may say how to start another instance of it whose ``subscribeRepos``
replay window is short, so the firehose suite can show a cursor older than the window (SYNC-ES-13) without
touching the target's own instance: the environment to add, and the window by age or by count::

    short_window = { env = { MY_PDS_BACKFILL_MS = "20000" }, seconds = 20 }   # or: events = 5
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from atcheck.errors import ManifestError
from atcheck.targets.model import (
    ContainerSpec,
    Credentials,
    HealthCheck,
    ProcessSpec,
    Role,
    ServiceSpec,
    ShortWindow,
    TargetManifest,
)
from atcheck.targets.templating import literal

#: Capabilities a target may declare; suites mark tests with the ones they need.
KNOWN_CAPABILITIES = frozenset(
    {
        "account.create",  # com.atproto.server.createAccount
        "account.session",  # createSession, refreshSession, getSession
        "account.status",  # deactivateAccount / activateAccount by the account itself
        "server.describe",  # com.atproto.server.describeServer
        "repo.read",  # getRecord, listRecords, describeRepo
        "repo.write",  # createRecord, putRecord, deleteRecord
        "repo.apply-writes",  # applyWrites
        "repo.swap",  # swapCommit / swapRecord
        "repo.validate",  # rejects records that fail Lexicon validation
        "sync.get-repo",
        "sync.latest-commit",
        "sync.get-record",
        "sync.subscribe-repos",
        "identity.resolve-handle",
        "identity.update-handle",  # com.atproto.identity.updateHandle
        "identity.plc",  # its accounts' DIDs are did:plc registered at the run's PLC
        "identity.resolve-identity",  # resolveIdentity and resolveDid answered by the PDS itself
        # atcheck can point its DNS, host names and CA store at atcheck's own DNS and HTTPS servers
        # (the wrapper's POST /atcheck/resolvers; see atcheck.suite.resolvers): domain handles, did:web
        "identity.local-resolvers",
        "plc.directory",  # it serves a did:plc directory itself (POST /<did>, audit log, export)
        "blob.upload",  # com.atproto.repo.uploadBlob
        "blob.read",  # com.atproto.sync.getBlob and com.atproto.sync.listBlobs
        "xrpc.errors",  # serves the XRPC error envelope on its error paths
        "admin",  # admin-authenticated endpoints with the admin password
        # An atproto OAuth authorization server (PAR, PKCE, DPoP, client metadata documents) in front of the
        # PDS as resource server, with a sign-in API atcheck can drive headlessly (see atcheck.suite.oauth)
        "oauth",
        # Lexicon resolution for OAuth permission sets asks atcheck's fixed authority DID for every NSID
        # (PDS_LEXICON_AUTHORITY_DID in the reference manifest; atcheck.suite.oauth_lexicons)
        "oauth.permission-sets",
        # A labeler's: com.atproto.label.queryLabels, com.atproto.label.subscribeLabels, and a way for atcheck
        # to have labels made (the wrapper's POST /atcheck/labels with the bearer token; see skyware-labeler)
        "label.query",
        "label.subscribe",
        "label.create",
        # The labeler's DID is an account whose repo has its app.bsky.labeler.service/self declaration.
        "label.declaration",
        # An AppView that hydrates labels of the labelers named in atproto-accept-labelers, with the PDS it
        # indexes, where atcheck makes an account and posts to label (the ozone target). It implies those PDS
        # writes, so a target can offer them to the AppView tests without running every PDS suite.
        "appview.labels",
    }
)

#: Capabilities an already-running server (``--target URL``) is not assumed to have: each needs atcheck's
#: own configuration of the server.
URL_NOT_ASSUMED = frozenset({"identity.plc", "identity.local-resolvers", "oauth.permission-sets"})

_CREDENTIAL_FIELDS = frozenset(Credentials.__dataclass_fields__)
_PLACEHOLDER_NAME = re.compile(r"[A-Za-z0-9_-]+")  # what a {NAME.url} placeholder can spell
_TOP_KEYS = {
    "name",
    "implementation",
    "version",
    "description",
    "capabilities",
    "provisioning",
    "handle_domain",
    "notes",
    "service",
}
_SERVICE_KEYS = {
    "name",
    "roles",
    "needs",
    "needs_all",
    "process",
    "container",
    "url",
    "health",
    "did",
    "credentials",
    "short_window",
}


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ManifestError(f"{where}: expected {names}, got {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = _expect(value, list, where)
    return tuple(_expect(item, str, f"{where}[{i}]") for i, item in enumerate(items))


def _str_map(value: Any, where: str) -> dict[str, str]:
    table = _expect(value, dict, where)
    return {str(k): str(_expect(v, (str, int), f"{where}.{k}")) for k, v in table.items()}


def _roles(value: Any, where: str) -> tuple[Role, ...]:
    roles = []
    for i, name in enumerate(_strings(value, where)):
        try:
            roles.append(Role(name))
        except ValueError:
            valid = ", ".join(r.value for r in Role)
            raise ManifestError(f"{where}[{i}]: unknown role {name!r} (known: {valid})") from None
    return tuple(roles)


def _unknown_keys(table: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(extra)}")


def _service(raw: Any, where: str) -> ServiceSpec:
    table = _expect(raw, dict, where)
    _unknown_keys(table, _SERVICE_KEYS, where)
    if "name" not in table or "roles" not in table:
        raise ManifestError(f"{where}: a service needs 'name' and 'roles'")
    name = _expect(table["name"], str, f"{where}.name")
    process = container = None
    if "process" in table:
        ptab = _expect(table["process"], dict, f"{where}.process")
        _unknown_keys(ptab, {"command", "env", "cwd", "requires", "port"}, f"{where}.process")
        if "command" not in ptab:
            raise ManifestError(f"{where}.process: 'command' is required")
        command = _strings(ptab["command"], f"{where}.process.command")
        if not command:
            raise ManifestError(f"{where}.process.command: must not be empty")
        process = ProcessSpec(
            command=command,
            env=_str_map(ptab.get("env", {}), f"{where}.process.env"),
            cwd=_expect(ptab["cwd"], str, f"{where}.process.cwd") if "cwd" in ptab else None,
            requires=_strings(ptab.get("requires", []), f"{where}.process.requires"),
            port=_port(ptab["port"], f"{where}.process.port") if "port" in ptab else None,
        )
    if "container" in table:
        ctab = _expect(table["container"], dict, f"{where}.container")
        _unknown_keys(ctab, {"image", "port", "env", "command", "data_dir"}, f"{where}.container")
        if "image" not in ctab or "port" not in ctab:
            raise ManifestError(f"{where}.container: 'image' and 'port' are required")
        container = ContainerSpec(
            image=_expect(ctab["image"], str, f"{where}.container.image"),
            port=_expect(ctab["port"], int, f"{where}.container.port"),
            env=_str_map(ctab.get("env", {}), f"{where}.container.env"),
            command=_strings(ctab["command"], f"{where}.container.command") if "command" in ctab else None,
            data_dir=ctab.get("data_dir"),
        )
    url = table.get("url")
    if url is not None:
        _check_url(_expect(url, str, f"{where}.url"), f"{where}.url")
    if process is None and container is None and url is None:
        raise ManifestError(f"{where}: a service needs [process], [container] or url")
    health_raw = table.get("health", {})
    health_tab = _expect(health_raw, dict, f"{where}.health")
    _unknown_keys(health_tab, {"path", "timeout"}, f"{where}.health")
    health = HealthCheck(
        path=_expect(health_tab.get("path", "/"), str, f"{where}.health.path"),
        timeout_s=float(_expect(health_tab.get("timeout", 60), (int, float), f"{where}.health")),
    )
    credentials = _str_map(table.get("credentials", {}), f"{where}.credentials")
    _unknown_keys(credentials, _CREDENTIAL_FIELDS, f"{where}.credentials")
    return ServiceSpec(
        name=name,
        roles=_roles(table["roles"], f"{where}.roles"),
        needs_services=_strings(table.get("needs", []), f"{where}.needs"),  # split by _split_needs
        needs_all=_roles(table.get("needs_all", []), f"{where}.needs_all"),
        process=process,
        container=container,
        url=url,
        health=health,
        did=_expect(table["did"], str, f"{where}.did") if "did" in table else None,
        credentials=credentials,
        short_window=_short_window(table["short_window"], f"{where}.short_window")
        if "short_window" in table
        else None,
    )


def _short_window(raw: Any, where: str) -> ShortWindow:
    """``short_window = { env = {...}, seconds = N }`` or ``{ env = {...}, events = N }``."""
    table = _expect(raw, dict, where)
    _unknown_keys(table, {"env", "seconds", "events"}, where)
    if "env" not in table or ("seconds" in table) == ("events" in table):
        raise ManifestError(f"{where}: needs 'env' and exactly one of 'seconds' or 'events'")
    seconds = events = None
    if "seconds" in table:
        seconds = float(_expect(table["seconds"], (int, float), f"{where}.seconds"))
        if seconds <= 0:
            raise ManifestError(f"{where}.seconds: must be positive")
    else:
        events = _expect(table["events"], int, f"{where}.events")
        if events < 1:
            raise ManifestError(f"{where}.events: must be at least 1")
    return ShortWindow(env=_str_map(table["env"], f"{where}.env"), seconds=seconds, events=events)


def _split_needs(service: ServiceSpec, services: tuple[ServiceSpec, ...], where: str) -> ServiceSpec:
    """Read ``needs`` once every service is known: an entry that spells a role is that role, any other
    must name another service of this target."""
    by_name = {s.name: s for s in services}
    role_names = {r.value: r for r in Role}
    roles: list[Role] = []
    named: list[str] = []
    for i, entry in enumerate(service.needs_services):
        at = f"{where}.needs[{i}]"
        role = role_names.get(entry)
        if role is not None:
            if role in service.roles:
                raise ManifestError(
                    f"{at}: service {service.name!r} plays {role.value} and needs one: name the service "
                    "it needs instead (see the manifest docs: a service in front of another)"
                )
            roles.append(role)
            continue
        other = by_name.get(entry)
        if other is None or other is service:
            others = ", ".join(sorted(set(by_name) - {service.name})) or "none"
            raise ManifestError(
                f"{at}: unknown role {entry!r} (known: {', '.join(role_names)}), "
                f"nor another service of this target ({others})"
            )
        if not other.roles:
            raise ManifestError(f"{at}: service {entry!r} plays no role, so it has no address to give")
        if not _PLACEHOLDER_NAME.fullmatch(entry):
            raise ManifestError(f"{at}: a service needed by name must be named with [A-Za-z0-9_-] only")
        named.append(entry)
    return replace(service, needs=tuple(roles), needs_services=tuple(named))


def _port(value: Any, where: str) -> int:
    port = _expect(value, int, where)
    if isinstance(port, bool) or not 0 < port < 65536:
        raise ManifestError(f"{where}: {value!r} is not a TCP port (1-65535)")
    return int(port)


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ManifestError(f"{where}: {url!r} is not an http(s) URL with a host")


def parse_manifest(data: Mapping[str, Any], source: str, path: Path | None = None) -> TargetManifest:
    """Check a manifest's parsed TOML and build the model. ``source`` names it in errors."""
    _unknown_keys(data, _TOP_KEYS, source)
    for key in ("name", "implementation", "version"):
        if key not in data:
            raise ManifestError(f"{source}: '{key}' is required")
    services_raw = _expect(data.get("service", []), list, f"{source}: service")
    if not services_raw:
        raise ManifestError(f"{source}: at least one [[service]] is required")
    services = tuple(_service(s, f"{source}: service[{i}]") for i, s in enumerate(services_raw))
    names = [s.name for s in services]
    if len(set(names)) != len(names):
        raise ManifestError(f"{source}: service names must be unique, got {names}")
    services = tuple(_split_needs(s, services, f"{source}: service[{i}]") for i, s in enumerate(services))
    capabilities = frozenset(_strings(data.get("capabilities", []), f"{source}: capabilities"))
    unknown = sorted(capabilities - KNOWN_CAPABILITIES)
    if unknown:
        raise ManifestError(
            f"{source}: unknown capabilities {unknown} (known: {', '.join(sorted(KNOWN_CAPABILITIES))})"
        )
    provisioning = data.get("provisioning", "xrpc")
    if provisioning not in ("xrpc", "wrapper", "given"):
        raise ManifestError(f"{source}: provisioning must be xrpc, wrapper or given")
    return TargetManifest(
        name=_expect(data["name"], str, f"{source}: name"),
        implementation=_expect(data["implementation"], str, f"{source}: implementation"),
        version=str(data["version"]),
        description=str(data.get("description", "")),
        services=services,
        capabilities=capabilities,
        provisioning=cast(Any, provisioning),
        handle_domain=str(data.get("handle_domain", ".test")),
        notes=_strings(data.get("notes", []), f"{source}: notes"),
        source=path,
    )


def load_manifest(path: Path) -> TargetManifest:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: invalid TOML: {exc}") from None
    return parse_manifest(data, str(path), path)


def builtin_manifests() -> dict[str, TargetManifest]:
    """The manifests shipped with atcheck, by target name."""
    found: dict[str, TargetManifest] = {}
    folder = resources.files("atcheck.targets") / "builtin"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            manifest = parse_manifest(data, f"builtin/{entry.name}")
            found[manifest.name] = manifest
    return found


def url_manifest(
    url: str, *, capabilities: frozenset[str] | None = None, credentials: Credentials | None = None
) -> TargetManifest:
    """A target for an already-running PDS at ``url``, with the credentials the user gave for it.

    They are handed over as values (``atcheck run`` flags, or ``ATCHECK_*`` variables read once by whoever
    starts the run), never through this process's environment, and they are scrubbed from every report.
    """
    _check_url(url, "--target")
    given = credentials or Credentials()
    parts = urlsplit(url)
    name = f"url:{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return TargetManifest(
        name=name,
        implementation="unknown",
        version="unknown",
        description=f"an already-running server at {url}",
        services=(
            ServiceSpec(
                name="pds",
                roles=(Role.PDS,),
                url=url.rstrip("/"),
                health=HealthCheck(path="/xrpc/_health", timeout_s=10.0),
                credentials={k: literal(v) for k, v in vars(given).items() if v},
            ),
        ),
        # Not assumed of a server atcheck did not configure: its DIDs at the run's PLC, the wrapper route that
        # points it at atcheck's resolvers, and the Lexicon authority the OAuth suite publishes under.
        capabilities=capabilities if capabilities is not None else KNOWN_CAPABILITIES - URL_NOT_ASSUMED,
        # With an account given, suites use it rather than creating accounts on someone's server.
        provisioning="given" if given.account_handle else "xrpc",
    )


def resolve_target(spec: str) -> TargetManifest:
    """Turn a ``--target`` value into a manifest: a built-in name, a manifest path, or a URL (without
    credentials: :func:`atcheck.targets.spec.parse_target` is what a run uses)."""
    if "://" in spec:
        return url_manifest(spec)
    if spec.endswith(".toml") or "/" in spec:
        return load_manifest(Path(spec))
    builtins = builtin_manifests()
    if spec in builtins:
        return builtins[spec]
    raise ManifestError(
        f"unknown target {spec!r}: not a built-in ({', '.join(sorted(builtins))}), "
        "a manifest path (.toml) or a URL"
    )
