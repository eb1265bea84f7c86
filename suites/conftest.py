"""Fixtures every conformance suite shares: one account per module, and identity look-ups.

Test modules cannot import this file (pytest loads it under its own name); everything here is a fixture, and
everything else a suite needs comes from :mod:`atcheck.suite`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from atcheck.suite import Account, XrpcClient, atproto_key, did_document
from atcheck.suite.oracle import PublicKey

DidDocument = Callable[[str], dict[str, Any]]


@pytest.fixture(scope="module")
def module_account(account_factory: Callable[[], Account]) -> Account:
    """One account for a whole test module (per target), for tests that do not need a pristine repo.

    Creating an account costs a PLC operation and a few hundred milliseconds; tests that only add records
    under their own rkeys or collections can share one.
    """
    return account_factory()


@pytest.fixture(name="did_document")
def did_document_fixture(plc: XrpcClient) -> DidDocument:
    """Resolve a did:plc at the run's PLC directory: ``GET /<did>`` must give the DID document."""
    return lambda did: did_document(plc, did)


@pytest.fixture
def signing_key(plc: XrpcClient) -> Callable[[str], PublicKey]:
    """The account's signing key as the network sees it: ``#atproto`` of its DID document at the PLC."""
    return lambda did: atproto_key(did_document(plc, did), did)
