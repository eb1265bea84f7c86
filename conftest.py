"""Top-level pytest configuration.

atcheck's pytest plugin (``atcheck.pytest_plugin``) is loaded through its entry point wherever atcheck is
installed, so suites also run from outside this checkout. Here we only set the hypothesis profiles: suites
run against real servers, so examples are few and CI runs are derandomized (a failure reproduces exactly).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("ATCHECK_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
