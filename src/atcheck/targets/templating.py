"""Fill in the ``{placeholders}`` of manifest commands, env and credentials at launch.

Placeholders:
  ``{port}`` ``{host}`` ``{data_dir}`` ``{log_dir}``     the service's own
  ``{tool:NAME}``                                      a tool path (``node22``, ``reference_dir``...)
  ``{implementations}`` ``{python}``                   the checkout's implementations/ dir, atcheck's Python
  ``{env:NAME}``                                       an environment variable, empty when unset
  ``{secret:NAME}``                                    a random token made once per run and target (the
                                                       services of one target share it; two targets, even
                                                       of one manifest, do not), scrubbed from reports
  ``{k256key:NAME}``                                   a random secp256k1 private key (hex), once per run
  ``{port:NAME}``                                      a free loopback port chosen once per run and target:
                                                       one process serving several services (dev-env) is
                                                       told the port of each, and a service with a ``url``
                                                       names it (``http://127.0.0.1:{port:appview}``)
  ``{ROLE.url}`` ``{ROLE.did}`` ``{ROLE.port}``        a needed role's endpoint, e.g. ``{plc.url}``
  ``{NAME.url}`` ``{NAME.did}`` ``{NAME.port}``        a service of this target needed by name
  ``{ROLE.host_url}`` ``{NAME.host_url}``              the same URL with ``localhost`` for the address
  ``{self.did}``                                       this service's DID, once rendered
  ``{all:ROLE.url}`` (or ``.did`` ``.port``             every endpoint of a ``needs_all`` role, comma-
  ``.host_url``)                                       separated (empty when there is none): a relay's PDSes
Doubled braces ``{{`` and ``}}`` stand for literal braces. An unknown placeholder is a manifest error.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from atcheck.errors import ManifestError
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.ports import free_port

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z0-9_.:-]+)\}")

# The order of the secp256k1 group: a private key is any integer in [1, n-1].
_K256_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _k256_private_key_hex() -> str:
    while True:
        candidate = int.from_bytes(secrets.token_bytes(32), "big")
        if 0 < candidate < _K256_N:
            return f"{candidate:064x}"


def literal(value: str) -> str:
    """A template that renders to ``value`` itself: a given password may hold braces."""
    return value.replace("{", "{{").replace("}", "}}")


@dataclass
class RunSecrets:
    """Secrets of one run, made on first use and remembered so every service sees the same value."""

    values: dict[str, str] = field(default_factory=dict)
    #: Ports of ``{port:NAME}``: not secrets (never scrubbed from reports), but remembered the same way.
    ports: dict[str, int] = field(default_factory=dict)

    def port(self, name: str) -> int:
        if name not in self.ports:
            self.ports[name] = free_port()
        return self.ports[name]

    def get(self, kind: str, name: str) -> str:
        key = f"{kind}:{name}"
        if key not in self.values:
            self.values[key] = _k256_private_key_hex() if kind == "k256key" else secrets.token_hex(16)
        return self.values[key]

    def all(self) -> list[str]:
        return list(self.values.values())


@dataclass
class TemplateScope:
    """What placeholders resolve to for one service launch."""

    port: int | None = None
    host: str = "127.0.0.1"
    data_dir: str = ""
    log_dir: str = ""
    tools: Mapping[str, str] = field(default_factory=dict)
    needs: Mapping[Role, ServiceEndpoint] = field(default_factory=dict)
    services: Mapping[str, ServiceEndpoint] = field(default_factory=dict)  # needed by name
    needs_all: Mapping[Role, Sequence[ServiceEndpoint]] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)
    secrets: RunSecrets = field(default_factory=RunSecrets)
    tool_resolver: Callable[[str], str] | None = None
    # The run's name of the target being launched: two instances of one manifest in a run (reference and
    # reference@container) must not share admin passwords, JWT secrets or rotation keys.
    secret_namespace: str = ""

    def lookup(self, name: str, where: str) -> str:
        simple = {
            "port": None if self.port is None else str(self.port),
            "host": self.host,
            "data_dir": self.data_dir,
            "log_dir": self.log_dir,
            **self.extra,
        }
        if name in simple and simple[name] is not None:
            return str(simple[name])
        kind, _, rest = name.partition(":")
        if rest and kind in ("secret", "k256key"):
            key = f"{self.secret_namespace}/{rest}" if self.secret_namespace else rest
            return self.secrets.get(kind, key)
        if rest and kind == "port":
            key = f"{self.secret_namespace}/{rest}" if self.secret_namespace else rest
            return str(self.secrets.port(key))
        if rest and kind == "env":  # an optional value from the environment; empty when unset
            return os.environ.get(rest, "")
        if rest and kind == "all":
            return self._every(rest, where)
        if rest and kind == "tool":
            if rest in self.tools:
                return self.tools[rest]
            if self.tool_resolver is not None:
                return self.tool_resolver(rest)
            raise ManifestError(f"{where}: tool {rest!r} is not known")
        head, dot, attr = name.partition(".")
        if dot:
            value = _endpoint_attr(self._needed(head, name, where), attr)
            if value is not None:
                return value
        raise ManifestError(f"{where}: unknown placeholder {{{name}}}")

    def _needed(self, head: str, name: str, where: str) -> ServiceEndpoint:
        """The endpoint ``{head.attr}`` speaks of: a service needed by name, else a needed role."""
        if head in self.services:
            return self.services[head]
        try:
            role = Role(head)
        except ValueError:
            raise ManifestError(f"{where}: unknown placeholder {{{name}}}") from None
        endpoint = self.needs.get(role)
        if endpoint is None:
            raise ManifestError(f"{where}: {{{name}}} needs the role {head!r}; add it to the service's needs")
        return endpoint

    def _every(self, name: str, where: str) -> str:
        """``{all:ROLE.ATTR}``: the attribute of every endpoint of a needs_all role, comma-separated."""
        role_name, _, attr = name.partition(".")
        try:
            role = Role(role_name)
        except ValueError:
            raise ManifestError(f"{where}: unknown role in placeholder {{all:{name}}}") from None
        if role not in self.needs_all:
            raise ManifestError(
                f"{where}: {{all:{name}}} needs the role {role_name!r} in the service's needs_all"
            )
        values = [_endpoint_attr(endpoint, attr) for endpoint in self.needs_all[role]]
        if any(value is None for value in values):
            raise ManifestError(f"{where}: unknown placeholder {{all:{name}}}")
        return ",".join(value for value in values if value is not None)

    def render(self, template: str, where: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "{{":
                return "{"
            if token == "}}":
                return "}"
            return self.lookup(match.group(1), where)

        return _PLACEHOLDER.sub(substitute, template)

    def render_map(self, values: Mapping[str, str], where: str) -> dict[str, str]:
        return {key: self.render(value, f"{where}.{key}") for key, value in values.items()}


def _endpoint_attr(endpoint: ServiceEndpoint, attr: str) -> str | None:
    """``url``, ``did``, ``port`` or ``host_url`` of an endpoint; None for an unknown attribute."""
    if attr == "url":
        return endpoint.url
    if attr == "did" and endpoint.did:
        return endpoint.did
    if attr == "port":
        return str(urlsplit(endpoint.url).port)
    if attr == "host_url":  # a URL with a host *name*, for software that refuses IP literals
        parts = urlsplit(endpoint.url)
        return f"{parts.scheme}://localhost:{parts.port}"
    return None
