"""The property-based half of ``schema diff``: data generated from OLD must still validate under NEW.

The static differ can miss what a change means (a ref retargeted to a structurally different def, a regex-like
format swap); generating data from the old Lexicon and validating it under the new one catches those, and a
counterexample is shrunk by hypothesis to the smallest record that breaks. Runs are derandomized, so the same
two Lexicon versions always give the same counterexample.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import HypothesisException, NoSuchExample

from atcheck.errors import UsageError
from atcheck.schema.generate import from_part
from atcheck.schema.registry import SchemaRegistry
from atcheck.schema.sources import LexiconSet


def checked_parts(lexicons: LexiconSet, nsid: str) -> list[str]:
    """The parts whose old data must stay valid: a record's data, a procedure's JSON input."""
    doc = lexicons.documents.get(nsid)
    if doc is None:
        return []
    main = doc.defs.get("main", {})
    if main.get("type") == "record":
        return ["record"]
    body = main.get("input")
    if main.get("type") == "procedure" and isinstance(body, dict) and isinstance(body.get("schema"), dict):
        return ["input"]
    return []


def backward_check(old: LexiconSet, new: LexiconSet, nsids: list[str], examples: int) -> list[dict[str, Any]]:
    """One shrunk counterexample per (nsid, part) where OLD-valid data is NEW-invalid."""
    new_registry = SchemaRegistry.from_lexicons(new)
    found: list[dict[str, Any]] = []
    config = settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    for nsid in nsids:
        for part in checked_parts(old, nsid):
            try:
                strategy = from_part(nsid, part, old)
            except KeyError:
                continue

            def invalid_under_new(value: Any, nsid: str = nsid, part: str = part) -> bool:
                try:
                    return bool(new_registry.errors(value, nsid, part))
                except UsageError:
                    return False

            try:
                example = find(strategy, invalid_under_new, settings=config)
            except NoSuchExample:
                continue
            except HypothesisException as exc:
                raise UsageError(f"{nsid} {part}: cannot generate data from the old Lexicon: {exc}") from None
            found.append(
                {
                    "nsid": nsid,
                    "part": part,
                    "example": example,
                    "errors": new_registry.errors(example, nsid, part),
                }
            )
    return found
