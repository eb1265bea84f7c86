"""Run a script through a relay: release the stream, wait until the relay has caught up, judge its output."""

from __future__ import annotations

from atcheck.upstream.cases import CASES, Case
from atcheck.upstream.script import Script
from atcheck.upstream.server import UpstreamServer
from atcheck.upstream.tap import RelayTap
from atcheck.upstream.verdict import Judgement, judge

__all__ = ["drive"]

CATCH_UP_TIMEOUT_S = 60.0
QUIET_S = 1.5


def drive(
    server: UpstreamServer,
    script: Script,
    tap: RelayTap,
    *,
    cases: tuple[Case, ...] = CASES,
    timeout_s: float = CATCH_UP_TIMEOUT_S,
    quiet_s: float = QUIET_S,
) -> Judgement:
    """Load ``script`` into ``server`` (whose subscriber is the relay ``tap`` listens to) and judge.

    The script ends with an honest commit (its sentinel): once the relay has passed that on, every earlier
    frame has reached it; a short quiet period then lets events of other accounts, which a relay may
    process in parallel, come out too. If the sentinel never comes, the judgement says what is missing.
    """
    server.load(script)
    if script.sentinel is not None:
        tap.wait_for(script.sentinel, timeout_s)
    tap.settle(quiet_s, timeout_s=max(quiet_s * 4, 10.0))
    return judge(script, tap.snapshot(), cases)
