"""Hypothesis settings for property-based suites: the same examples for the same server behaviour.

Suites run against real servers, so property-based tests get few examples, no deadline (a PDS write takes
milliseconds to seconds) and no example database (nothing is written into the user's working directory).
With ``CI`` or ``ATCHECK_DERANDOMIZE`` set, examples are derandomized, so that two runs send the same requests
and a report differs only when a server's behaviour does (the plugin pins each test's draws:
:mod:`atcheck.pytest_plugin.draws`). Failing examples are shrunk, so the report shows a minimal one;
against a live server each shrink step is a request, so ``ATCHECK_SHRINK=0`` reports them as found.

Use it as a decorator: ``@SUITE_SETTINGS`` above ``@given(...)``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

__all__ = ["SUITE_PROFILE_NAME", "SUITE_SETTINGS"]

SUITE_PROFILE_NAME = "atcheck-suites"


def _flag(name: str, default: str = "") -> bool:
    return os.environ.get(name, default).strip() not in ("", "0", "false")


settings.register_profile(
    SUITE_PROFILE_NAME,
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    + ([Phase.shrink] if _flag("ATCHECK_SHRINK", "1") else []),
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=_flag("CI") or _flag("ATCHECK_DERANDOMIZE"),
    print_blob=True,
    # A module-scoped account and a session-scoped target are shared by every example on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: The settings every property-based suite test uses.
SUITE_SETTINGS = settings.get_profile(SUITE_PROFILE_NAME)
