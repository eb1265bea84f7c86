"""Lexicon property suite: records generated from the Lexicons, valid and one rule broken, per target.

The tests live in :mod:`atcheck.schema.record_suite`, beside the generators they depend on; importing them
here puts them in the default run, with their requirement markers.
"""

from atcheck.schema.record_suite import (  # noqa: F401
    test_generated_invalid_record_is_refused_and_nothing_written,
    test_generated_valid_record_round_trips,
)
