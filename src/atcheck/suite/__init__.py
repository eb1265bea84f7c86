"""What conformance suites import: the one layer between a suite test and the harness.

A suite module imports from here (plus pytest and hypothesis) and nothing else of atcheck, so the harness
can change beneath the suites without touching them.
"""

from __future__ import annotations

from atcheck.suite.target import TargetDidNotStart, TargetUnderTest

__all__ = ["TargetDidNotStart", "TargetUnderTest"]
