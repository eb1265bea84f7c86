"""``@pytest.mark.together`` and the ``sibling_targets`` fixture, end to end.

A real pytest session in a subprocess with two fake PDS targets and a fake relay: a test marked
``together`` runs after every other test of the session, its instances one after another, and its first
instance is handed every target the test runs against (the target under test first; the relay, which the
test would skip, left out). This is what lets the firehose suite observe every target's idle stream in one
window instead of one window per target.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from .test_plugin_upstreams import _manifest, _run

SUITE = textwrap.dedent(
    """
    import pytest

    SEEN = []

    @pytest.mark.requirement("SYNC-ES-01")
    @pytest.mark.role("pds")
    def test_before(target):
        SEEN.append(f"before:{target.name}")

    @pytest.mark.requirement("SYNC-ES-01")
    @pytest.mark.role("pds")
    @pytest.mark.together
    def test_relay_sees_its_pdses(target, sibling_targets, record_property):
        SEEN.append(f"together:{target.name}")
        names = [s.name for s in sibling_targets]
        assert all(callable(s.new_account) for s in sibling_targets)
        record_property("atcheck_note", f"siblings={','.join(names)} seen={' '.join(SEEN)}")

    @pytest.mark.requirement("SYNC-ES-01")
    @pytest.mark.role("pds")
    def test_zafter(target):
        SEEN.append(f"after:{target.name}")
    """
)


def test_together_tests_run_last_and_see_every_target_they_run_against(tmp_path: Path) -> None:
    relay = _manifest(tmp_path, "relay", '["relay"]', 'needs_all = ["pds"]')
    pds_a = _manifest(tmp_path, "pds-a", '["pds"]')
    pds_b = _manifest(tmp_path, "pds-b", '["pds"]')
    code, output, report = _run(tmp_path, pds_a, pds_b, relay, suite=SUITE)
    assert code == 0, output
    together = {
        r["target"]: r for r in report["results"] if r["test_id"].endswith("test_relay_sees_its_pdses")
    }
    assert together["relay"]["outcome"] == "skipped"
    first, second = together["pds-a"]["message"], together["pds-b"]["message"]
    # Every other test of both targets ran before the first instance; the instances ran back to back.
    assert first == (
        "siblings=pds-a,pds-b seen=before:pds-a after:pds-a before:pds-b after:pds-b together:pds-a"
    ), first
    assert second.startswith("siblings=pds-b,pds-a "), second
    assert second.endswith("together:pds-a together:pds-b"), second


LATE_SUITE = textwrap.dedent(
    """
    import pytest

    SEEN = []

    @pytest.mark.requirement("SYNC-ES-01")
    @pytest.mark.role("pds")
    @pytest.mark.late
    def test_late(target, record_property):
        SEEN.append(f"late:{target.name}")
        record_property("atcheck_note", " ".join(SEEN))

    @pytest.mark.requirement("SYNC-ES-01")
    @pytest.mark.role("pds")
    def test_zafter(target):
        SEEN.append(f"after:{target.name}")
    """
)


def test_late_tests_run_after_every_other_test(tmp_path: Path) -> None:
    """``@pytest.mark.late`` (a test that counts time from early in the run, such as the DPoP nonce's
    rotation) runs after every other test of the session, for every target."""
    pds_a = _manifest(tmp_path, "pds-a", '["pds"]')
    pds_b = _manifest(tmp_path, "pds-b", '["pds"]')
    code, output, report = _run(tmp_path, pds_a, pds_b, suite=LATE_SUITE)
    assert code == 0, output
    late = {r["target"]: r["message"] for r in report["results"] if r["test_id"].endswith("test_late")}
    assert late["pds-a"] == "after:pds-a after:pds-b late:pds-a", late
    assert late["pds-b"] == "after:pds-a after:pds-b late:pds-a late:pds-b", late
