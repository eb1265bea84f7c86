"""What every conformance suite shares: Hypothesis settings, one account per module, identity look-ups.

Suites run against real servers, so property-based tests get few examples, no deadline (a PDS write takes
milliseconds to seconds) and no example database (nothing is written into the user's working directory).
With ``CI`` or ``ATCHECK_DERANDOMIZE`` set, examples are derandomized so that two CI runs send the same
requests and a report differs only when a server's behaviour does.

Test modules cannot import this file (pytest loads it under its own name), so they reach the settings by
profile name: ``@settings(settings.get_profile(SUITE_PROFILE_NAME))`` where the name is the string
``"atcheck-suites"``; everything else is a fixture.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, Phase, settings

from atcheck.accounts import Account, AccountFactory
from atcheck.checks import ConformanceFailure, expect, expect_status
from atcheck.errors import AtcheckError
from atcheck.oracle.crypto import PublicKey, b58decode, b58encode, parse_legacy_multibase, parse_multikey
from atcheck.oracle.errors import OracleError
from atcheck.suite import TargetDidNotStart, TargetUnderTest
from atcheck.targets.model import Role
from atcheck.xrpc.client import XrpcClient

SUITE_PROFILE_NAME = "atcheck-suites"
DID_DOC_TYPES = frozenset({"application/did+ld+json", "application/did+json", "application/json"})


def _derandomized() -> bool:
    return any(
        os.environ.get(name, "").strip() not in ("", "0", "false") for name in ("CI", "ATCHECK_DERANDOMIZE")
    )


settings.register_profile(
    SUITE_PROFILE_NAME,
    # Failing examples are shrunk, so the report shows a minimal one. Against a live server each shrink
    # step is a request (the Lexicon suite takes ~40 s, not ~15 s); ATCHECK_SHRINK=0 reports them as found.
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    + ([] if os.environ.get("ATCHECK_SHRINK", "1").strip() in ("0", "false") else [Phase.shrink]),
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=_derandomized(),
    print_blob=True,
    # A module-scoped account and a session-scoped target are shared by every example on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def module_account(target: TargetUnderTest) -> Account:
    """One account for a whole test module (per target), for tests that do not need a pristine repo.

    Creating an account costs a PLC operation and a few hundred milliseconds; tests that only add records
    under their own rkeys or collections can share one.
    """
    factory = AccountFactory(
        target.endpoint(Role.PDS),
        target.client(Role.PDS),
        provisioning=target.manifest.provisioning,
        handle_domain=target.handle_domain,
    )
    try:
        return factory()
    except AtcheckError as exc:
        raise TargetDidNotStart(f"could not get an account on {target.name}: {exc}") from None


@pytest.fixture
def did_document(plc: XrpcClient) -> Callable[[str], dict[str, Any]]:
    """Resolve a did:plc at the run's PLC directory: ``GET /<did>`` must give the DID document."""

    def resolve(did: str) -> dict[str, Any]:
        expect(did.startswith("did:plc:"), "a did:plc (the target declares identity.plc)", did)
        resp = plc.get(f"/{did}")
        expect_status(resp, 200)
        # The PLC serves application/did+ld+json or application/json; either is JSON.
        expect(
            resp.content_type in DID_DOC_TYPES,
            f"Content-Type one of {sorted(DID_DOC_TYPES)}",
            resp.content_type,
            resp,
        )
        doc = resp.json()
        if not isinstance(doc, dict):
            raise ConformanceFailure("a DID document (a JSON object)", doc, resp)
        return doc

    return resolve


def _atproto_key(doc: dict[str, Any], did: str) -> PublicKey:
    """The public key of the DID document's first ``#atproto`` entry.

    A Multikey is the current form; the legacy ``EcdsaSecp256{k,r}1VerificationKey2019`` entries are accepted
    too (ID-DOC-07: resolvers may accept them), because here the key is only a means to verify signatures.
    Whether the document uses the current form is checked by the identity suite.
    """
    methods = doc.get("verificationMethod")
    if not isinstance(methods, list):
        raise ConformanceFailure("a verificationMethod list in the DID document", doc)
    for method in methods:
        if isinstance(method, dict) and method.get("id") in ("#atproto", f"{did}#atproto"):
            key, kind = method.get("publicKeyMultibase"), method.get("type")
            if not isinstance(key, str) or not isinstance(kind, str):
                raise ConformanceFailure("type and publicKeyMultibase strings on the #atproto key", method)
            try:
                return parse_multikey(key) if kind == "Multikey" else _legacy_key(key, kind)
            except OracleError as exc:
                raise ConformanceFailure("a k256 or p256 public key on #atproto", str(exc)) from None
    raise ConformanceFailure("a verificationMethod with id #atproto in the DID document", methods)


_LEGACY_TYPES = {
    "EcdsaSecp256k1VerificationKey2019": (ec.SECP256K1(), b"\xe7\x01"),
    "EcdsaSecp256r1VerificationKey2019": (ec.SECP256R1(), b"\x80\x24"),
}


def _legacy_key(value: str, kind: str) -> PublicKey:
    """A legacy ``publicKeyMultibase``: base58btc of the key bytes, no multicodec, *uncompressed* (did spec,
    Legacy Representation). Re-encoded as a Multikey so the oracle's strict parser reads it.

    (atcheck.oracle.crypto.parse_legacy_multibase insists on compressed bytes, which the spec's legacy form
    does not use; this stays here until it accepts them.)
    """
    if kind not in _LEGACY_TYPES or not value.startswith("z"):
        return parse_legacy_multibase(value, kind)  # let the oracle explain what is wrong
    curve, prefix = _LEGACY_TYPES[kind]
    raw = b58decode(value[1:])
    if len(raw) != 65 or raw[0] != 4:
        return parse_legacy_multibase(value, kind)
    try:
        point = ec.EllipticCurvePublicKey.from_encoded_point(curve, raw)
    except ValueError:
        raise OracleError(f"{kind} key: not a point on its curve") from None
    compressed = point.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return parse_multikey("z" + b58encode(prefix + compressed))


@pytest.fixture
def signing_key(did_document: Callable[[str], dict[str, Any]]) -> Callable[[str], PublicKey]:
    """The account's signing key as the network sees it: ``#atproto`` of its DID document at the PLC."""

    def resolve(did: str) -> PublicKey:
        return _atproto_key(did_document(did), did)

    return resolve
