"""Fixtures of the label suite: the target's labeler, its DID document and its label key.

A target without a labeler skips every test here (through the capabilities each test needs).
"""

from __future__ import annotations

from typing import Any

import pytest

from atcheck.suite import TargetUnderTest, XrpcClient, did_document
from atcheck.suite.labels import Labeler, label_key, labeler_under_test
from atcheck.suite.oracle import PublicKey


@pytest.fixture
def labeler(target: TargetUnderTest) -> Labeler:
    """The target's labeler and its DID (skipped for a target without one)."""
    return labeler_under_test(target)


@pytest.fixture
def labeler_document(labeler: Labeler, plc: XrpcClient) -> dict[str, Any]:
    """The labeler's DID document, as the network sees it at the run's PLC."""
    return did_document(plc, labeler.did)


@pytest.fixture
def labeler_key(labeler: Labeler, labeler_document: dict[str, Any]) -> PublicKey:
    """The ``#atproto_label`` key of the labeler's DID document: the key its labels must verify with."""
    return label_key(labeler_document, labeler.did)
