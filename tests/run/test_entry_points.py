"""Both ways into a run give the same report: ``atcheck run`` and a bare ``pytest suites --atcheck-target``.

The CLI hands the plugin a run-options object; bare pytest builds the same object from its flags. One small
suite (xrpc) against the reference target through each, and the two report.json files must be equal apart
from what differs between any two runs: times, run IDs, ports, account DIDs, HTTP date and etag headers, and
the command line (argv) itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from atcheck.tools import missing_tools

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("node22", "reference_dir")

pytestmark = pytest.mark.skipif(
    missing_tools(NEEDED) is not None, reason=f"reference target not installed: {missing_tools(NEEDED)}"
)

_TIMES_AND_IDS = {"run_id", "started_at", "finished_at", "duration_s", "date", "etag"}  # and headers
_VOLATILE_TEXT = [
    (re.compile(r"(127\.0\.0\.1|localhost)(:|%3A)\d+"), r"\1\2<port>"),
    (re.compile(r"did:plc:[a-z2-7]{24}"), "did:plc:<id>"),
    (re.compile(r"""(['"]?)(date|etag)\1(: ?)(['"])[^'"]*\4""", re.IGNORECASE), r"\1\2\1\3\4<\2>\4"),
]


def normalized(value: Any) -> Any:
    """A report with what differs between any two runs replaced by placeholders."""
    if isinstance(value, dict):
        return {
            key: "<volatile>" if key in _TIMES_AND_IDS else normalized(item)
            for key, item in value.items()
            if key != "argv" and not key.startswith("start_time_s.")
        }
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, str):
        for pattern, replacement in _VOLATILE_TEXT:
            value = pattern.sub(replacement, value)
    return value


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ATCHECK_TARGETS"}
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT, env={**env, "CI": "1"}, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def differences(one: Any, other: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as ``path: one != other`` lines (for a readable failure)."""
    if isinstance(one, dict) and isinstance(other, dict):
        return [
            d
            for k in sorted(set(one) | set(other))
            for d in differences(one.get(k), other.get(k), f"{path}.{k}")
        ]
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        return [
            d
            for i, (a, b) in enumerate(zip(one, other, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if one == other else [f"{path}: {str(one)[:300]} != {str(other)[:300]}"]


def test_the_normalizer_keeps_what_matters() -> None:
    text = "GET http://127.0.0.1:4242/x by did:plc:abcdefghijklmnopqrstuvwx; {'date': 'Thu', 'etag': 'W/1'}"
    report = {"run_id": "r1", "results": [{"message": text, "outcome": "failed"}]}
    want = "GET http://127.0.0.1:<port>/x by did:plc:<id>; {'date': '<date>', 'etag': '<etag>'}"
    assert normalized(report) == {"run_id": "<volatile>", "results": [{"message": want, "outcome": "failed"}]}


def test_the_cli_and_bare_pytest_write_the_same_report(tmp_path: Path) -> None:
    by_cli, by_pytest = tmp_path / "cli", tmp_path / "pytest"
    cli = _run(
        ["atcheck.cli", "run", "--target", "reference", "--suite", "xrpc", "--report-dir", str(by_cli)]
    )
    assert cli.returncode in (0, 1), cli.stdout + cli.stderr
    bare = _run(
        [
            "pytest", "suites/xrpc", "-p", "no:cacheprovider", "-q",
            "--atcheck-target", "reference", "--atcheck-report-dir", str(by_pytest),
        ]
    )  # fmt: skip
    assert bare.returncode in (0, 1), bare.stdout + bare.stderr
    one = json.loads((by_cli / "report.json").read_text(encoding="utf-8"))
    other = json.loads((by_pytest / "report.json").read_text(encoding="utf-8"))
    assert one["results"], "the run checked nothing"
    assert differences(normalized(one), normalized(other)) == []
