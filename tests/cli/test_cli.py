"""The CLI's contract: names, exit statuses, and one-line errors instead of tracebacks."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from atcheck import cli, tools
from atcheck.errors import SetupError
from atcheck.targets.spec import parse_targets


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--target", "ftp://example.test"], "is not an http(s) URL"),
        (["run", "--target", "no-such-target"], "unknown target 'no-such-target'"),
        (["run", "--target", "missing/manifest.toml"], "no such manifest"),
        (["run", "--suite", "no-such-suite"], "unknown suite(s) no-such-suite"),
        (["requirements", "--area", "no-such-area"], "unknown area(s) no-such-area"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _out, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("atcheck: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_an_unreachable_url_target_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "run", "--target", f"http://127.0.0.1:{_closed_port()}")
    assert code == 2
    assert "does not answer" in err


def test_a_missing_node_is_a_setup_error_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ATCHECK_CACHE", str(tmp_path / "empty-cache"))
    tools.forget()
    try:
        with pytest.raises(SetupError) as caught:
            cli.preflight(parse_targets(["reference"]).values())
    finally:
        tools.forget()
    assert "is not installed" in str(caught.value)
    assert "scripts/setup-node.sh" in str(caught.value)


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys)
    assert code == 2
    assert "run" in out and "requirements" in out


def test_requirements_lists_the_catalogue_with_tests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "requirements", "--area", "repo", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(r["area"] == "repo" for r in rows)
    assert {"id", "level", "statement", "spec", "tests"} <= set(rows[0])
    code, out, _err = _run(capsys, "requirements", "--level", "MUST", "--json")
    assert all(r["level"] == "MUST" for r in json.loads(out))


def test_targets_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "targets", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert "reference" in rows
    assert "pds" in rows["reference"]["roles"] and "plc" in rows["reference"]["roles"]
    assert all(isinstance(r["available"], bool) for r in rows.values())
    assert all(r["available"] or r["reason"] for r in rows.values())
