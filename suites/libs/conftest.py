"""Fixtures of the library suites: the target's harness (a test of a target that is not a library is
skipped by its ``role("lib")`` marker before it gets here)."""

from __future__ import annotations

import pytest

from atcheck.suite import TargetUnderTest
from atcheck.suite.libs import Library, library


@pytest.fixture(name="lib")
def lib_fixture(target: TargetUnderTest) -> Library:
    """The library target's harness, restarted first if an earlier input made it exit."""
    return library(target)
