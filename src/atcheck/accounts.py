"""Getting an account on a target, whichever way that target offers.

Suites need fresh accounts, but implementations differ in how one is made: the reference PDS has
``com.atproto.server.createAccount``; arroba has none, so atcheck's wrapper offers ``POST /atcheck/accounts``;
a server given by URL may only lend one existing account. The manifest's ``provisioning`` says which, and this
module hides the difference behind :class:`AccountFactory`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from atcheck.checks import ConformanceFailure
from atcheck.errors import SetupError
from atcheck.targets.model import ServiceEndpoint
from atcheck.xrpc.client import XrpcClient, XrpcResponse


@dataclass
class Account:
    """An account a suite may use. ``password`` is None when the target provisions without one."""

    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str | None
    client: XrpcClient  # authenticated with access_jwt
    password: str | None = field(default=None, repr=False)
    email: str | None = None

    def __repr__(self) -> str:
        return f"Account(did={self.did!r}, handle={self.handle!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints failing cases with IPython-style pretty printing: keep tokens out of it."""
        printer.text(repr(self))


class ProvisioningFailed(SetupError):
    """The target would not give atcheck an account: every test that needs one is an error, not a failure."""


_serial = count(1)


def fresh_handle(domain: str) -> str:
    """A handle unlikely to exist yet, short enough for every server's limits (segments up to 18 chars)."""
    stem = f"t{next(_serial)}{secrets.token_hex(3)}"
    return f"{stem}{domain if domain.startswith('.') else '.' + domain}"


def _fields(resp: XrpcResponse, what: str, *names: str) -> dict[str, Any]:
    if resp.status != 200:
        raise ProvisioningFailed(f"{what} failed: {resp.describe()}: {resp.text[:300]}")
    try:
        body = resp.json()
    except ConformanceFailure as exc:
        raise ProvisioningFailed(f"{what}: {exc}") from None
    missing = [n for n in names if not isinstance(body, dict) or not isinstance(body.get(n), str)]
    if missing:
        raise ProvisioningFailed(f"{what}: the answer lacks {', '.join(missing)}: {resp.text[:300]}")
    return dict(body)


class AccountFactory:
    """Makes accounts on one PDS endpoint, by the target's provisioning method."""

    def __init__(
        self,
        endpoint: ServiceEndpoint,
        client: XrpcClient,
        *,
        provisioning: str,
        handle_domain: str,
    ) -> None:
        self.endpoint = endpoint
        self.client = client
        self.provisioning = provisioning
        self.handle_domain = handle_domain
        self.made: list[Account] = []

    def __call__(self) -> Account:
        if self.provisioning == "xrpc":
            account = self._create_account()
        elif self.provisioning == "wrapper":
            account = self._wrapper_account()
        else:
            account = self._given_account()
        self.made.append(account)
        return account

    def _create_account(self) -> Account:
        handle = fresh_handle(self.handle_domain)
        password = secrets.token_urlsafe(18)
        email = f"{handle.split('.')[0]}@example.test"
        body: dict[str, Any] = {"handle": handle, "password": password, "email": email}
        invite = self.endpoint.credentials.invite_code
        if invite:
            body["inviteCode"] = invite
        resp = self.client.procedure("com.atproto.server.createAccount", body)
        got = _fields(resp, "createAccount", "did", "handle", "accessJwt", "refreshJwt")
        return self._account(got, password=password, email=email)

    def _wrapper_account(self) -> Account:
        token = self.endpoint.credentials.bearer_token
        if not token:
            raise ProvisioningFailed(
                f"target {self.endpoint.target}: wrapper provisioning needs a bearer_token"
            )
        handle = fresh_handle(self.handle_domain)
        resp = self.client.with_token(token).request("POST", "/atcheck/accounts", json={"handle": handle})
        return self._account(
            _fields(resp, "the wrapper's account provisioning", "did", "handle", "accessJwt")
        )

    def _given_account(self) -> Account:
        creds = self.endpoint.credentials
        if not (creds.account_handle and creds.account_password):
            raise ProvisioningFailed(
                f"target {self.endpoint.target} gives no way to get an account",
                hint="set ATCHECK_ACCOUNT_HANDLE and ATCHECK_ACCOUNT_PASSWORD, or ATCHECK_INVITE_CODE",
            )
        resp = self.client.procedure(
            "com.atproto.server.createSession",
            {"identifier": creds.account_handle, "password": creds.account_password},
        )
        got = _fields(resp, "createSession with the given account", "did", "handle", "accessJwt")
        return self._account(got, password=creds.account_password)

    def _account(
        self, got: dict[str, Any], *, password: str | None = None, email: str | None = None
    ) -> Account:
        """An Account from a session-shaped answer (did, handle, accessJwt, refreshJwt?)."""
        refresh = got.get("refreshJwt")
        return Account(
            did=got["did"],
            handle=got["handle"],
            access_jwt=got["accessJwt"],
            refresh_jwt=refresh if isinstance(refresh, str) else None,
            client=self.client.with_token(got["accessJwt"]),
            password=password,
            email=email,
        )
