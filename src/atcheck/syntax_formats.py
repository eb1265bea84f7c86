"""The atproto string formats as a jsonschema FormatChecker.

The Lexicon string formats (did, handle, nsid, tid, ...) are checked by :mod:`atcheck.syntax`; this module
only adapts those validators to jsonschema, so that schema validation and syntax suites can never disagree.
"""

from __future__ import annotations

from functools import cache

import jsonschema


@cache
def format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    try:
        from atcheck import syntax
    except ImportError:  # the syntax module is optional while it is being written
        return checker
    kinds = getattr(syntax, "KINDS", {})
    for name, is_valid in kinds.items():
        fmt = name.replace("_", "-")
        checker.checks(fmt)(is_valid)
    return checker
