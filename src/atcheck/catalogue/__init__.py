"""The requirement catalogue: every testable requirement of the AT Protocol that atcheck knows of.

The catalogue (``requirements.toml`` beside this file) is the denominator of every coverage figure. Each
conformance test names the IDs it checks with ``@pytest.mark.requirement("REPO-COMMIT-01", ...)``;
naming an ID that is not in the catalogue fails collection.
"""

from atcheck.catalogue.loader import (
    AREAS,
    COMPONENTS,
    LEVELS,
    TEST_KINDS,
    Catalogue,
    Requirement,
    load_catalogue,
)

__all__ = ["AREAS", "COMPONENTS", "LEVELS", "TEST_KINDS", "Catalogue", "Requirement", "load_catalogue"]
