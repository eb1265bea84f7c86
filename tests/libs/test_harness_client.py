"""The harness protocol's client: a harness that answers, refuses to start, dies, writes garbage or stays
silent gives answers or one clear error (HarnessBroke / LaunchError), never a hang or a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from atcheck.errors import LaunchError
from atcheck.libs.harness import Harness, HarnessBroke, Request

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_harness.py"


def _harness(mode: str, timeout_s: float = 5.0) -> Harness:
    env = {**os.environ, "FAKE_HARNESS_MODE": mode}
    return Harness(
        [sys.executable, str(FAKE)], name="fake", env=env, start_timeout_s=10, request_timeout_s=timeout_s
    )


def test_a_harness_answers_in_order_and_says_unsupported() -> None:
    harness = _harness("oracle")
    try:
        assert harness.implementation["name"] == "fake"
        answers = harness.batch(
            [
                Request("syntax.valid", {"kind": "handle", "value": "alice.test"}),
                Request("syntax.valid", {"kind": "handle", "value": "alice"}),
                Request("mst.root", {"entries": []}),
            ]
        )
        assert [a.kind for a in answers] == ["result", "error", "unsupported"]
        assert answers[0].accepted and not answers[1].accepted
    finally:
        harness.close()
    assert not harness.alive()


def test_a_harness_that_is_not_ready_says_why() -> None:
    with pytest.raises(LaunchError, match="not ready: the fake library is not installed"):
        _harness("not-ready")


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("dies", "exited while atcheck waited for request 1 (exit code 3)"),
        ("garbage", "wrote a line that is not JSON"),
        ("silent", "did not answer request 1 within 0.5 s"),
        ("no-verdict", "answered with none of result, unsupported, error"),
    ],
)
def test_a_broken_harness_is_one_clear_error(mode: str, says: str) -> None:
    harness = _harness(mode, timeout_s=0.5)
    try:
        with pytest.raises(HarnessBroke) as info:
            harness.batch([Request("syntax.valid", {"kind": "tid", "value": "3jzfcijpj2z2a"})])
        assert says in str(info.value)
        assert "\n" not in str(info.value)
    finally:
        harness.close()
    assert not harness.alive()


def test_a_missing_harness_program_is_a_launch_error() -> None:
    with pytest.raises(LaunchError, match="cannot run"):
        Harness(["/nonexistent/harness"], name="gone")
