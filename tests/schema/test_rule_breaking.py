"""The per-rule Lexicon strategies break only the rule they name, on every record type they list."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atcheck.suite.lexicon import RULES, Rule, records_breaking


@pytest.mark.parametrize("rule", RULES, ids=[r.requirement for r in RULES])
@settings(max_examples=10, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_draw_breaks_the_rule_it_names(rule: Rule, data: st.DataObject) -> None:
    nsid, record, mutation = data.draw(records_breaking(rule))
    assert nsid in rule.record_types
    assert record.get("$type") == nsid
    assert rule.matches(mutation.constraint, mutation.kind), mutation


@pytest.mark.parametrize("rule", RULES, ids=[r.requirement for r in RULES])
def test_every_listed_record_type_can_break_the_rule(rule: Rule) -> None:
    """A listed type whose schema has no such place would only ever be rejected: Hypothesis would give up."""
    seen: list[str] = []
    for nsid in rule.record_types:

        @settings(max_examples=1, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(records_breaking(Rule(rule.requirement, rule.summary, rule.breaks, (nsid,))))
        def draw(case: tuple[str, dict[str, object], object]) -> None:
            seen.append(case[0])

        draw()
        assert nsid in seen
