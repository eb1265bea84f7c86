"""Permission sets the OAuth suite publishes itself, resolvable with no network: a fixed Lexicon authority.

``include:<nsid>`` scopes name permission sets, which an authorization server resolves through Lexicon
resolution (DNS ``_lexicon`` TXT record -> DID -> a ``com.atproto.lexicon.schema`` record in that DID's
repo). Offline, the DNS step cannot work, so the reference target is told (``PDS_LEXICON_AUTHORITY_DID`` in
its manifest) that one DID is the authority of every NSID: :data:`AUTHORITY_DID`, a did:plc whose signed
genesis operation is fixed below, so its DID is known before the run. The suite registers it at the run's
PLC, moves it onto the PDS under test (the account migration steps: createAccount with the DID, the PDS's
recommended credentials, activation) and writes the Lexicon records there.

The keys below are test keys, published on purpose: they control nothing but this DID on a run's throw-away
PLC.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from atcheck.accounts import fresh_handle
from atcheck.checks import ConformanceFailure, expect_ok
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.plc import Op, did_for_genesis, sign_op, update_op
from atcheck.suite.oauth_jose import b64url
from atcheck.xrpc.client import XrpcClient

__all__ = ["AUTHORITY_DID", "LexiconAuthority", "lexicon_authority"]

_ROTATION = PrivateKey.from_bytes(
    "k256", bytes.fromhex("55d13cbaa99cc429a7cb8c5313cd7428b41f0608b48e9d7d7665a0630de5f2cd")
)
_SIGNING = PrivateKey.from_bytes(
    "k256", bytes.fromhex("37bbe6f34e46851e6602c53f0a871ede337d9aeabfde1d266e1bb507cd73ef28")
)
#: The genesis operation, signed once (ECDSA signatures are randomised, and the DID is the hash of the
#: signed operation): rotation key and atproto key are the two keys above.
GENESIS: Op = {
    "type": "plc_operation",
    "rotationKeys": ["did:key:zQ3shV9A5i6ZX6kQqFmFEqYSjVR3YC7xBADkEHhUvv7VddMYr"],
    "verificationMethods": {"atproto": "did:key:zQ3shrW7e8P5ZL1kgSBMt9nS4yvAM1Cqps2mzyufG7kVwLeHi"},
    "alsoKnownAs": ["at://lexicons.atcheck.test"],
    "services": {
        "atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": "https://lexicons.atcheck.test"}
    },
    "prev": None,
    "sig": "-xXHH5wT8VzgKy3L2uDAsESOHoJi_T0EBUF7l5li2ik_khgq4yRIpIl76FDmIADhZ5E5OHkleXDcHfJwJk2NcQ",
}
AUTHORITY_DID = "did:plc:cjnrw3ickdi3im47ynvme7ma"
_PASSWORD = "atcheck-lexicon-authority"  # a test account on a throw-away PDS


class LexiconAuthority:
    """The authority DID hosted on one PDS, able to publish Lexicon records there."""

    def __init__(self, client: XrpcClient) -> None:
        self.client = client

    def publish_permission_set(self, nsid: str, permissions: list[dict[str, Any]]) -> None:
        """Write the ``permission-set`` Lexicon ``nsid`` (a ``com.atproto.lexicon.schema`` record)."""
        record = {
            "$type": "com.atproto.lexicon.schema",
            "lexicon": 1,
            "id": nsid,
            "defs": {
                "main": {"type": "permission-set", "title": "atcheck test set", "permissions": permissions}
            },
        }
        body = {
            "repo": AUTHORITY_DID,
            "collection": "com.atproto.lexicon.schema",
            "rkey": nsid,
            "record": record,
        }
        expect_ok(self.client.procedure("com.atproto.repo.putRecord", body))


def _service_auth(audience: str) -> str:
    """A service-auth JWT (ES256K) of the authority DID, for createAccount with an existing DID."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256K"}
    payload = {
        "iss": AUTHORITY_DID,
        "aud": audience,
        "iat": now,
        "exp": now + 120,
        "lxm": "com.atproto.server.createAccount",
        "jti": secrets.token_hex(8),
    }
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    return signing_input + "." + b64url(_SIGNING.sign(signing_input.encode()))


def _plc_accepts(plc: XrpcClient, op: Op) -> None:
    resp = plc.request("POST", f"/{AUTHORITY_DID}", json=op)
    if not 200 <= resp.status < 300:
        raise ConformanceFailure("the PLC to accept the authority DID's operation", resp.status, resp)


def lexicon_authority(pds: XrpcClient, plc: XrpcClient, handle_domain: str) -> LexiconAuthority:
    """The authority DID as an account of ``pds``: registered at ``plc`` and moved onto ``pds`` the first
    time, signed in on later calls. Fails (as setup, not a verdict) if any step is refused."""
    if did_for_genesis(GENESIS) != AUTHORITY_DID:  # the constants above belong together
        raise AssertionError("the authority DID does not match its genesis operation")
    session = pds.procedure(
        "com.atproto.server.createSession", {"identifier": AUTHORITY_DID, "password": _PASSWORD}
    )
    if session.status == 200:
        return LexiconAuthority(pds.with_token(str(session.json()["accessJwt"])))
    if plc.get(f"/{AUTHORITY_DID}").status != 200:
        _plc_accepts(plc, GENESIS)
    described = expect_ok(pds.query("com.atproto.server.describeServer"))
    body = {
        "did": AUTHORITY_DID,
        "handle": fresh_handle(handle_domain),
        "email": f"lexicons-{secrets.token_hex(4)}@atcheck.test",
        "password": _PASSWORD,
    }
    created = expect_ok(
        pds.with_token(_service_auth(str(described.get("did")))).procedure(
            "com.atproto.server.createAccount", body
        )
    )
    account = pds.with_token(str(created["accessJwt"]))
    wanted = expect_ok(account.query("com.atproto.identity.getRecommendedDidCredentials"))
    last = plc.get(f"/{AUTHORITY_DID}/log/last")
    if last.status != 200:
        raise ConformanceFailure("the authority DID's last operation at the PLC", last.status, last)
    prev: Op = last.json()
    op = update_op(
        prev,
        rotationKeys=[_ROTATION.public.did_key, *wanted.get("rotationKeys", [])],
        verificationMethods=wanted.get("verificationMethods", {}),
        alsoKnownAs=wanted.get("alsoKnownAs", []),
        services=wanted.get("services", {}),
    )
    _plc_accepts(plc, sign_op(op, _ROTATION))
    activated = account.procedure("com.atproto.server.activateAccount")
    if activated.status != 200:
        raise ConformanceFailure(
            "activateAccount of the authority DID (HTTP 200)", activated.status, activated
        )
    return LexiconAuthority(account)
