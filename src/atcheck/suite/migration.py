"""The official account-migration flow, driven by atcheck step by step between two PDS targets.

An account moves from an *old* PDS to a *new* one and keeps its DID (atproto's account migration guide; the
`com.atproto.server.*`, `repo.importRepo`, `repo.listMissingBlobs` and `identity.*PlcOperation*` Lexicons):

1. ``service-auth``: the old PDS signs a service-auth token for the new PDS (``getServiceAuth``, ``aud`` the
   new PDS's service DID, ``lxm`` createAccount);
2. ``create-account``: the new PDS creates the account with the existing DID, authorised by that token; the
   account starts deactivated there;
3. ``import-repo``: the old PDS's ``getRepo`` CAR goes into the new one's ``importRepo``;
4. ``blobs``: every blob the new PDS lists as missing is fetched from the old one and uploaded;
5. ``preferences``: ``app.bsky.actor.getPreferences`` from the old PDS, ``putPreferences`` to the new;
6. ``plc-token``: the old PDS mails a PLC-operation token (``requestPlcOperationSignature``);
7. ``recommended-credentials``: the new PDS says which keys, handle and service the DID should name;
8. ``sign-plc-operation``: the old PDS signs that operation with the token; 9. ``submit-plc-operation``:
   the new PDS submits it to the PLC;
10. ``activate``: the new PDS activates the account; 11. ``deactivate-old``: the old one deactivates it.

:func:`migrate` runs the steps (or stops before one, to test an aborted migration) and keeps each step's
answer, so a failure names the step and the request. Reading the mailed token needs the target's help: the
reference target's start script keeps sent mail at ``GET /atcheck/outbox`` for the admin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atcheck.accounts import Account, fresh_handle
from atcheck.checks import ConformanceFailure, expect_ok
from atcheck.oracle.car import read_car, write_car
from atcheck.oracle.cbor import encode
from atcheck.oracle.cid import compute_cid
from atcheck.suite.target import TargetUnderTest
from atcheck.targets.model import Role
from atcheck.xrpc.client import XrpcClient, XrpcResponse

__all__ = ["STEPS", "Migration", "MigrationStepFailed", "mailed_token", "migrate", "scrambled_car"]

STEPS = (
    "service-auth",
    "create-account",
    "import-repo",
    "blobs",
    "preferences",
    "plc-token",
    "recommended-credentials",
    "sign-plc-operation",
    "submit-plc-operation",
    "activate",
    "deactivate-old",
)

_TOKEN = re.compile(r"\b[A-Z2-7]{5}-[A-Z2-7]{5}\b")


class MigrationStepFailed(ConformanceFailure):
    """A step of the flow was refused or answered wrongly: the message names the step."""

    def __init__(self, step: str, failure: ConformanceFailure) -> None:
        super().__init__(f"migration step {step!r} to succeed: {failure.expected}", failure.got)
        self.step = step
        self.request_line = failure.request_line
        self.args = (
            f"{self.args[0]}; from {failure.request_line}" if failure.request_line else self.args[0],
        )


@dataclass
class Migration:
    """What a run of the flow did: the account on each side, and every step's answer."""

    old: Account
    new: Account | None = None
    done: list[str] = field(default_factory=list)
    answers: dict[str, XrpcResponse] = field(default_factory=dict)
    preferences: list[Any] | None = None  # what the old PDS gave, when it serves preferences
    preferences_skipped: str | None = None  # why preferences were not moved
    blobs_moved: list[str] = field(default_factory=list)
    recommended: dict[str, Any] = field(default_factory=dict)


def scrambled_car(car: bytes) -> bytes:
    """The same repository as a different valid CAR: blocks in reverse order, the commit block twice, and
    one extra block nothing references (repository §CAR: readers accept any order, duplicates and extras)."""
    parsed = read_car(car)
    blocks = list(parsed.blocks.items())[::-1]
    extra = encode({"atcheck": "an unreferenced block"})
    commit = parsed.roots[0]
    return write_car(parsed.roots, [*blocks, (commit, parsed.blocks[commit]), (compute_cid(extra), extra)])


def mailed_token(target: TargetUnderTest, email: str) -> str:
    """The newest token mailed to ``email`` by the target's PDS, read from its outbox (admin only)."""
    endpoint = target.endpoint(Role.PDS)
    password = endpoint.credentials.admin_password
    if not password:
        raise ConformanceFailure("an admin password for the target (to read its outbox)", "none")
    resp = target.client(Role.PDS).with_token(password).get("/atcheck/outbox", {"to": email})
    emails = expect_ok(resp).get("emails")
    tokens = [m for mail in emails or [] for m in _TOKEN.findall(str(mail.get("html", "")))]
    if not tokens:
        raise ConformanceFailure(f"a mailed token for {email} in the PDS's outbox", emails, resp)
    return str(tokens[-1])


def migrate(
    old: Account,
    source: TargetUnderTest,
    dest: TargetUnderTest,
    *,
    stop_before: str | None = None,
    reshape_car: Callable[[bytes], bytes] | None = None,
) -> Migration:
    """Move ``old`` from ``source`` to ``dest`` by the official flow; stop before ``stop_before`` if given.

    ``reshape_car`` rewrites the exported CAR before ``importRepo`` (e.g. :func:`scrambled_car`), to check
    that the new PDS reads any valid CAR, not only the one its peer wrote.

    Raises :class:`MigrationStepFailed` naming the first step that fails.
    """
    if stop_before is not None and stop_before not in STEPS:
        raise ValueError(f"unknown migration step {stop_before!r}; steps: {', '.join(STEPS)}")
    if old.password is None or old.email is None:
        raise ConformanceFailure("an account with a password and an email (made by createAccount)", old)
    state = Migration(old=old)
    new_pds = dest.client(Role.PDS)
    actions: dict[str, Callable[[], None]] = {
        "service-auth": lambda: _service_auth(state, new_pds),
        "create-account": lambda: _create_account(state, dest, new_pds),
        "import-repo": lambda: _import_repo(state, source, reshape_car),
        "blobs": lambda: _blobs(state, source),
        "preferences": lambda: _preferences(state),
        "plc-token": lambda: _plc_token(state, source),
        "recommended-credentials": lambda: _recommended(state),
        "sign-plc-operation": lambda: _sign(state),
        "submit-plc-operation": lambda: _submit(state),
        "activate": lambda: _activate(state),
        "deactivate-old": lambda: _deactivate_old(state),
    }
    for step in STEPS:
        if step == stop_before:
            break
        try:
            actions[step]()
        except MigrationStepFailed:
            raise
        except ConformanceFailure as failure:
            raise MigrationStepFailed(step, failure) from None
        state.done.append(step)
    return state


# -- the steps -----------------------------------------------------------------------------------------------


def _new(state: Migration) -> XrpcClient:
    assert state.new is not None, "create-account comes first"
    return state.new.client


def _keep(state: Migration, step: str, resp: XrpcResponse) -> dict[str, Any]:
    state.answers[step] = resp
    return expect_ok(resp)


def _call(state: Migration, step: str, client: XrpcClient, nsid: str, body: Any = None) -> dict[str, Any]:
    resp = client.procedure(nsid, body)
    state.answers[step] = resp
    if resp.status != 200:
        expect_ok(resp)  # raises, describing the answer
    return resp.json() if resp.content else {}


def _service_auth(state: Migration, new_pds: XrpcClient) -> None:
    described = expect_ok(new_pds.query("com.atproto.server.describeServer"))
    state.recommended["service_did"] = described.get("did")
    params = {"aud": str(described.get("did")), "lxm": "com.atproto.server.createAccount"}
    got = _keep(state, "service-auth", state.old.client.query("com.atproto.server.getServiceAuth", params))
    state.recommended["service_auth"] = got.get("token")


def _create_account(state: Migration, dest: TargetUnderTest, new_pds: XrpcClient) -> None:
    old = state.old
    handle = fresh_handle(dest.handle_domain)
    body: dict[str, Any] = {"did": old.did, "handle": handle, "email": old.email, "password": old.password}
    invite = dest.endpoint(Role.PDS).credentials.invite_code
    if invite:
        body["inviteCode"] = invite
    token = str(state.recommended.get("service_auth"))
    resp = new_pds.with_token(token).procedure("com.atproto.server.createAccount", body)
    got = _keep(state, "create-account", resp)
    access = got.get("accessJwt")
    if not isinstance(access, str) or got.get("did") != old.did:
        raise ConformanceFailure("createAccount to answer the migrating DID and an accessJwt", got, resp)
    refresh = got.get("refreshJwt")
    state.new = Account(
        did=old.did,
        handle=str(got.get("handle", handle)),
        access_jwt=access,
        refresh_jwt=refresh if isinstance(refresh, str) else None,
        client=new_pds.with_token(access),
        password=old.password,
        email=old.email,
    )


def _import_repo(
    state: Migration, source: TargetUnderTest, reshape_car: Callable[[bytes], bytes] | None
) -> None:
    exported = source.client(Role.PDS).query("com.atproto.sync.getRepo", {"did": state.old.did})
    if exported.status != 200:
        expect_ok(exported)
    car = exported.content if reshape_car is None else reshape_car(exported.content)
    resp = _new(state).procedure(
        "com.atproto.repo.importRepo", data=car, content_type="application/vnd.ipld.car"
    )
    state.answers["import-repo"] = resp
    if resp.status != 200:
        expect_ok(resp)


def _blobs(state: Migration, source: TargetUnderTest) -> None:
    cursor: str | None = None
    for _ in range(100):  # pages; a cursor that never ends is the PDS's failure, not a hang
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = _keep(state, "blobs", _new(state).query("com.atproto.repo.listMissingBlobs", params))
        for blob in page.get("blobs", []):
            cid = str(blob.get("cid"))
            got = source.client(Role.PDS).query(
                "com.atproto.sync.getBlob", {"did": state.old.did, "cid": cid}
            )
            if got.status != 200:
                expect_ok(got)
            mime = got.content_type or "application/octet-stream"
            up = _new(state).procedure("com.atproto.repo.uploadBlob", data=got.content, content_type=mime)
            state.answers["blobs"] = up
            expect_ok(up)
            state.blobs_moved.append(cid)
        cursor = page.get("cursor")
        if not cursor:
            return
    raise ConformanceFailure("listMissingBlobs paging to end", "the cursor never ran out")


def _preferences(state: Migration) -> None:
    got = state.old.client.query("app.bsky.actor.getPreferences")
    if got.status != 200:
        # Preferences are an app.bsky method: a PDS without an AppView configured may not serve them.
        state.preferences_skipped = (
            f"the old PDS does not serve getPreferences ({got.describe()}: {got.text[:120]})"
        )
        return
    prefs = expect_ok(got).get("preferences", [])
    state.preferences = prefs if isinstance(prefs, list) else []
    _call(
        state, "preferences", _new(state), "app.bsky.actor.putPreferences", {"preferences": state.preferences}
    )


def _plc_token(state: Migration, source: TargetUnderTest) -> None:
    _call(state, "plc-token", state.old.client, "com.atproto.identity.requestPlcOperationSignature")
    state.recommended["token"] = mailed_token(source, str(state.old.email))


def _recommended(state: Migration) -> None:
    resp = _new(state).query("com.atproto.identity.getRecommendedDidCredentials")
    state.recommended["credentials"] = _keep(state, "recommended-credentials", resp)


def _sign(state: Migration) -> None:
    body = {"token": state.recommended["token"], **state.recommended["credentials"]}
    got = _call(state, "sign-plc-operation", state.old.client, "com.atproto.identity.signPlcOperation", body)
    if not isinstance(got.get("operation"), dict):
        raise ConformanceFailure(
            "signPlcOperation to answer a signed operation", got, state.answers["sign-plc-operation"]
        )
    state.recommended["operation"] = got["operation"]


def _submit(state: Migration) -> None:
    body = {"operation": state.recommended["operation"]}
    _call(state, "submit-plc-operation", _new(state), "com.atproto.identity.submitPlcOperation", body)


def _activate(state: Migration) -> None:
    _call(state, "activate", _new(state), "com.atproto.server.activateAccount")


def _deactivate_old(state: Migration) -> None:
    # deactivateAccount has an input (deleteAfter, optional): an empty JSON object, not an empty body.
    _call(state, "deactivate-old", state.old.client, "com.atproto.server.deactivateAccount", {})
