"""The firehose suite catches a PDS whose stream drops or reorders events.

A real reference PDS never does either, so its firehose is put behind a fault-injecting WebSocket proxy
(tests/fakes/firehose_proxy.py) and the suite's own code records a history through it and judges it: through
a clean proxy every check passes; when one frame in three is dropped, or neighbours are swapped, the checks
of completeness, order and the per-repo chain fail. Writes go to the PDS directly; only the subscription
passes the proxy. One reference stack for the module (~5-10 s); skipped when the reference is not installed.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from atcheck.accounts import Account, AccountFactory
from atcheck.checks import ConformanceFailure
from atcheck.suite.firehose import History
from atcheck.targets.model import Role
from atcheck.targets.stack import RunningTarget, Stack
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient

SUITE = Path(__file__).resolve().parents[2] / "suites" / "firehose"
FAKES = Path(__file__).resolve().parents[1] / "fakes"
#: The writes' commits come within milliseconds; a proxy that drops some makes the recording wait this long.
DELIVERY_S = 3.0


def _load(path: Path) -> ModuleType:
    """A module loaded from its file (neither the suites nor the fakes are packages)."""
    name = f"atcheck_selftest_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


conftest = _load(SUITE / "conftest.py")
commits = _load(SUITE / "test_commits.py")
framing = _load(SUITE / "test_framing.py")
proxy_module = _load(FAKES / "firehose_proxy.py")
FaultyFirehose = proxy_module.FaultyFirehose
drop_every_third = proxy_module.drop_every_third
pass_through = proxy_module.pass_through
swap_neighbours = proxy_module.swap_neighbours


@dataclass
class ProxiedTarget:
    """What the suite's history recorder uses of a target: its PDS URL (here the proxy), PLC and evidence."""

    name: str
    pds_url: str
    plc: XrpcClient
    recorder: EvidenceRecorder = field(default_factory=EvidenceRecorder)

    def supports(self, capability: str) -> bool:
        return True  # the reference declares everything the recorder asks about

    def endpoint(self, role: str) -> Any:
        return SimpleNamespace(url=self.pds_url)

    def client(self, role: str) -> XrpcClient:
        return self.plc


@dataclass
class Reference:
    make_account: Callable[[], Account]
    pds_url: str
    plc: XrpcClient


@pytest.fixture(scope="module")
def reference(reference_stack: tuple[Stack, RunningTarget]) -> Iterator[Reference]:
    _stack, running = reference_stack
    pds, plc = running.endpoint(Role.PDS), running.endpoint(Role.PLC)
    assert pds is not None and plc is not None
    pds_client, plc_client = XrpcClient(pds.url), XrpcClient(plc.url)
    factory = AccountFactory(pds, pds_client, provisioning="xrpc", handle_domain=".test")
    yield Reference(factory, pds.url, plc_client)
    pds_client.close()
    plc_client.close()


def _history_through(reference: Reference, fault: Any) -> History:
    proxy = FaultyFirehose(reference.pds_url, fault)
    try:
        target = ProxiedTarget(f"reference behind {fault.__name__}", proxy.url, reference.plc)
        history: History = conftest.record_history(target, reference.make_account, timeout=DELIVERY_S)
        return history
    finally:
        proxy.close()


def test_through_a_clean_proxy_every_check_passes(reference: Reference) -> None:
    history = _history_through(reference, pass_through)
    assert history.failure is None, history.failure
    framing.test_seq_is_positive_increasing_and_below_2_53(history)
    commits.test_each_write_appears_once_in_order_with_its_cids(history)
    commits.test_since_and_prevdata_chain_to_the_previous_commit(history)
    commits.test_every_commit_inverts_to_prevdata(history)


def test_dropping_one_event_in_three_fails(reference: Reference) -> None:
    history = _history_through(reference, drop_every_third)
    with pytest.raises(ConformanceFailure):
        commits.test_each_write_appears_once_in_order_with_its_cids(history)
    with pytest.raises(ConformanceFailure, match="since"):
        commits.test_since_and_prevdata_chain_to_the_previous_commit(history)


def test_swapping_neighbours_fails(reference: Reference) -> None:
    history = _history_through(reference, swap_neighbours)
    with pytest.raises(ConformanceFailure, match="a seq above the previous frame's"):
        framing.test_seq_is_positive_increasing_and_below_2_53(history)
    with pytest.raises(ConformanceFailure, match="the ops of write"):
        commits.test_each_write_appears_once_in_order_with_its_cids(history)
