"""The data model of a target: what it is, which roles it plays, what it supports, and how it starts.

A *target* is one implementation as the user names it (``reference``, ``arroba``, a URL). It is made of one or
more *services* (processes or containers), each playing roles (``pds``, ``plc``, ``relay``, ``appview``,
``labeler``). A service may *need* a role that another service provides: inside the same target first, then
from the run's shared topology (two PDS targets share one PLC so that accounts can migrate between them).

A launched service is a :class:`ServiceEndpoint`: the base URL suites talk to, plus credentials. Suites
never see processes; they see endpoints by role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal


class Role(StrEnum):
    """A part a service plays in the AT Protocol network."""

    PDS = "pds"
    PLC = "plc"
    RELAY = "relay"
    APPVIEW = "appview"
    LABELER = "labeler"
    LIB = "lib"  # a library, driven through a harness of ours over stdin/stdout (atcheck.libs)


LauncherKind = Literal["process", "container", "url"]


@dataclass(frozen=True)
class HealthCheck:
    """How to tell that a service is ready: an HTTP GET that answers with a status below 500."""

    path: str = "/"
    timeout_s: float = 60.0
    interval_s: float = 0.1


@dataclass(frozen=True)
class ProcessSpec:
    """How to start a service as a local process.

    ``command`` and ``env`` values are templates: ``{port}``, ``{host}``, ``{data_dir}``, ``{node}``,
    ``{implementations}``, ``{python}``, ``{secret:NAME}`` and ``{<role>.url}`` / ``{<role>.did}`` for needed
    roles are filled in at launch (see :mod:`atcheck.targets.templating`).
    """

    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    requires: tuple[str, ...] = ()  # tools that must exist first, e.g. ("node22",)
    port: int | None = None  # a fixed port, for software that cannot be told one; else a free one


@dataclass(frozen=True)
class ContainerSpec:
    """How to start a service as a container (see :mod:`atcheck.targets.launchers.container`)."""

    image: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    data_dir: str | None = None  # mount point inside the container for the per-run data dir


@dataclass(frozen=True)
class ShortWindow:
    """How to start another instance of a PDS whose ``subscribeRepos`` replay window is short.

    A cursor older than the window must get ``#info OutdatedCursor`` first (event-stream §Sequence Numbers);
    no run outgrows a production-sized window, and shortening the target's own would change every other
    cursor test. So the manifest says which environment makes a separate instance's window short, and how
    big that window is: by age (``seconds``, the reference PDS) or by number of events (``events``, arroba).
    """

    env: dict[str, str]
    seconds: float | None = None
    events: int | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """One service of a target, as written in the manifest."""

    name: str
    roles: tuple[Role, ...]
    needs: tuple[Role, ...] = ()  # roles, from this target or another target of the run
    needs_services: tuple[str, ...] = ()  # services of this target, by name (see atcheck.targets.manifest)
    # Roles of which this service needs *every* provider among the run's other targets, not just one: a relay
    # follows every PDS of the run. Their endpoints reach the templates as ``{all:ROLE.ATTR}``.
    needs_all: tuple[Role, ...] = ()
    process: ProcessSpec | None = None
    container: ContainerSpec | None = None
    url: str | None = None
    health: HealthCheck = field(default_factory=HealthCheck)
    did: str | None = None  # the service DID (template), e.g. "did:web:localhost%3A{port}"
    credentials: dict[str, str] = field(default_factory=dict)  # Credentials field -> template
    short_window: ShortWindow | None = None  # a PDS: how to start an instance with a short replay window


@dataclass(frozen=True)
class Credentials:
    """Secrets a suite may use against a service. Never printed: ``repr`` hides them."""

    admin_password: str | None = None
    account_handle: str | None = None
    account_password: str | None = None
    invite_code: str | None = None
    bearer_token: str | None = None

    def __repr__(self) -> str:  # secrets must not leak into logs or reports
        present = [name for name, value in vars(self).items() if value]
        return f"Credentials(<{', '.join(present) or 'none'}>)"

    def secrets(self) -> list[str]:
        """Every secret value, so report writers can scrub them from evidence."""
        return [value for value in vars(self).values() if value]


@dataclass(frozen=True)
class TargetManifest:
    """A target as described by its TOML manifest.

    ``capabilities`` lists what the implementation declares it supports (e.g.
    ``account.create``, ``repo.write``, ``sync.get-repo``); a test that needs a capability the target lacks
    is skipped with a reason.
    ``provisioning`` says how suites get an account: ``xrpc`` (createAccount) or ``wrapper`` (an endpoint of
    atcheck's own wrapper around an implementation that has no createAccount).
    """

    name: str
    implementation: str
    version: str
    description: str
    services: tuple[ServiceSpec, ...]
    capabilities: frozenset[str] = frozenset()
    provisioning: Literal["xrpc", "wrapper", "given"] = "xrpc"
    handle_domain: str = ".test"
    notes: tuple[str, ...] = ()
    source: Path | None = None  # the manifest file, for error messages

    @property
    def roles(self) -> tuple[Role, ...]:
        """Every role some service of this target plays."""
        seen: list[Role] = []
        for service in self.services:
            seen.extend(r for r in service.roles if r not in seen)
        return tuple(seen)

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def provider(self, role: Role) -> ServiceSpec | None:
        """The service that plays ``role`` for everyone else: suites, other targets, other services here.

        When several services play it, the one in front: a service that another service of this target
        needs by name stands behind that one (a fault-injecting proxy in front of a PDS is the target's PDS,
        and the PDS is reached only through it). Among equals, the first in the manifest.
        """
        behind = {name for service in self.services for name in service.needs_services}
        playing = [s for s in self.services if role in s.roles]
        front = [s for s in playing if s.name not in behind]
        chosen = front or playing
        return chosen[0] if chosen else None


@dataclass(frozen=True)
class ServiceEndpoint:
    """A running service as suites see it."""

    target: str
    service: str
    role: Role
    url: str
    did: str | None = None
    credentials: Credentials = field(default_factory=Credentials)
