"""A relay fed by atcheck's hostile upstream: honest events pass, each hostile kind as the spec says.

The hostile upstream is a small PDS of atcheck's own (real did:plc accounts at the run's PLC, commits signed
by the oracle). It streams honest events mixed with 22 kinds of hostile or awkward ones, one account per
kind, to a fresh instance of the relay target that follows only it (``atcheck.suite.upstream``); the
verdicts are read from the relay's own ``subscribeRepos``. What each case sends and the rule it breaks live
with the case (``UPSTREAM_CASES``), so a failure names both. Where the spec calls a broken chain a
discontinuity (a wrong ``since`` or ``prevData`` on an otherwise valid commit), relays pass the commit
through, and the test expects exactly that.
"""

from __future__ import annotations

import pytest

from atcheck.suite import (
    UPSTREAM_CASES,
    HostileUpstreamRun,
    TargetUnderTest,
    UpstreamCase,
    expect,
    run_hostile_upstream,
)

# Every verdict here is the relay's: some requirements also apply to PDSes, but only the relay is judged.
# No interop marker: the producer is atcheck's own emulator, not an implementation of the run, so these are
# conformance verdicts of the relay alone and have no cell in the producer x consumer matrix.
pytestmark = pytest.mark.role("relay")


@pytest.fixture(scope="module")
def hostile(target: TargetUnderTest) -> HostileUpstreamRun:
    """One run of the whole script per relay target (~5 s); every test reads its verdicts."""
    return run_hostile_upstream(target)


@pytest.mark.requirement("SYNC-FH-18")
def test_the_relay_passes_on_every_honest_commit(hostile: HostileUpstreamRun) -> None:
    """Every honest commit (records of a collection with no Lexicon, which relays must not validate) comes
    out of the relay, including the honest commit each hostile case sends after its hostile event."""
    missing = hostile.judgement.honest_missing
    expect(
        not missing,
        f"all {hostile.judgement.honest_total} honest commits of the hostile upstream passed on",
        f"{len(missing)} missing ({hostile.subscription_summary()}): "
        + "; ".join(ref.describe() for ref in missing),
    )


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=pytest.mark.requirement(*c.requirements)) for c in UPSTREAM_CASES],
)
def test_the_relay_treats_a_hostile_event_as_the_spec_says(
    hostile: HostileUpstreamRun, case: UpstreamCase
) -> None:
    verdict = hostile.verdict(case.name)
    expect(
        verdict.ok,
        f"the relay to {verdict.case.expectation} it: {verdict.case.rule} ({verdict.case.source})",
        f"{verdict.observed}: {verdict.details()}; {hostile.evidence(case.name)}",
    )
