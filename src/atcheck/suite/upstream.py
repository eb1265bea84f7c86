"""The hostile upstream as a suite uses it: feed a relay target atcheck's scripted stream, get verdicts.

:func:`run_hostile_upstream` starts the emulated PDS (real did:plc accounts at the target's PLC, commits
signed by the oracle), starts a fresh instance of the target's relay following only it, listens to the
relay's own ``subscribeRepos``, streams the script and judges what came out. Everything it starts is
stopped before it returns. A target it cannot run this against is skipped with the reason.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from atcheck.suite.target import TargetDidNotStart, TargetUnderTest, skip_under_launcher
from atcheck.targets.model import Role
from atcheck.upstream.cases import CASES, Case, build_script
from atcheck.upstream.drive import drive
from atcheck.upstream.plc import PlcError
from atcheck.upstream.relay_instance import UnsupportedRelay, relay_following
from atcheck.upstream.script import Script, ScriptBuilder
from atcheck.upstream.server import ConnectionLog, UpstreamServer
from atcheck.upstream.tap import RelayTap
from atcheck.upstream.verdict import CaseVerdict, Judgement

__all__ = ["UPSTREAM_CASES", "CaseVerdict", "HostileUpstreamRun", "UpstreamCase", "run_hostile_upstream"]

UPSTREAM_CASES: tuple[Case, ...] = CASES
UpstreamCase = Case

_LOG_LINES = 3


@dataclass(frozen=True)
class HostileUpstreamRun:
    """What a relay did with the script: the verdicts, its subscriptions, and its log about each account."""

    judgement: Judgement
    script: Script
    subscriptions: list[ConnectionLog]
    relay_log: str

    def verdict(self, case: str) -> CaseVerdict:
        return self.judgement.verdict(case)

    def evidence(self, case: str) -> str:
        """The relay's last log lines about the case's account(s), and how it (re)subscribed."""
        dids = {m.ref.did for m in self.script.marked if m.case == case}
        said = [_log_message(line) for line in self.relay_log.splitlines() if any(d in line for d in dids)]
        shown = " | ".join(list(dict.fromkeys(said))[-_LOG_LINES:]) or "nothing about this account"
        return f"relay log: {shown}; {self.subscription_summary()}"

    def subscription_summary(self) -> str:
        if not self.subscriptions:
            return "the relay never subscribed to the hostile upstream"
        cursors = ", ".join("none" if c.cursor is None else str(c.cursor) for c in self.subscriptions[:10])
        more = f" and {len(self.subscriptions) - 10} more" if len(self.subscriptions) > 10 else ""
        return f"relay subscriptions (cursor): {cursors}{more}"


def _log_message(line: str) -> str:
    """A log line, shortened: for JSON logs (as indigo writes) only the message and error fields."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line.strip()[:200]
    if not isinstance(entry, dict):
        return line.strip()[:200]
    parts = [str(entry.get(key)) for key in ("msg", "err", "problem") if entry.get(key)]
    return ": ".join(parts)[:200] or line.strip()[:200]


def run_hostile_upstream(target: TargetUnderTest, *, cases: tuple[Case, ...] = CASES) -> HostileUpstreamRun:
    target.endpoint(Role.RELAY)  # skips a target without a relay
    if target.running.launcher != "process":
        # The check itself cannot work there (not a verdict of the relay), so launcher comparisons skip it.
        skip_under_launcher(
            target,
            target.running.launcher,
            "the hostile upstream listens on this machine's loopback, and only a relay started as a local "
            "process can reach it",
        )
    plc = target.endpoint(Role.PLC)
    with (
        tempfile.TemporaryDirectory(prefix="atcheck-upstream-") as scratch,
        UpstreamServer() as server,
    ):
        try:
            with httpx.Client(trust_env=False) as client:
                builder = ScriptBuilder(client, plc.url, server.url, target.handle_domain)
                build_script(builder, cases)
        except PlcError as exc:
            raise TargetDidNotStart(f"the hostile upstream could not register its accounts: {exc}") from None
        try:
            instance = relay_following(
                target.manifest,
                target.running.launcher,
                plc,
                server.url,
                Path(scratch),
                target_name=target.name,
            )
            with instance as running, RelayTap(running.ws_url) as tap:
                judgement = drive(server, builder.script, tap, cases=cases)
                log = running.log()
        except UnsupportedRelay as exc:
            pytest.skip(f"hostile upstream: {exc}")
    return HostileUpstreamRun(judgement, builder.script, list(server.connections), log)
