"""--shard I/N: (target, suite) groups dealt alike on every shard; the shards merge into the whole run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from atcheck import cli
from atcheck.errors import UsageError
from atcheck.shard import Shard, assign, groups_of, parse_shard

FAKE = Path(__file__).with_name("fake_pds.py")


def test_parse_shard() -> None:
    assert parse_shard("2/3") == Shard(2, 3) and str(parse_shard(" 1 / 1 ")) == "1/1"
    for bad in ("0/2", "3/2", "1/0", "x", "1-2", "/2"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_assignment_is_deterministic_balanced_and_complete() -> None:
    groups = {
        (t, a): n
        for t in ("reference", "arroba", "relay")
        for a, n in (("repo", 40), ("sync", 12), ("xrpc", 30), ("plc", 5))
    }
    for total in (1, 2, 3, 5):
        owner = assign(groups, total)
        assert owner == assign(
            dict(reversed(list(groups.items()))), total
        )  # order of discovery is irrelevant
        assert set(owner) == set(groups) and set(owner.values()) <= set(range(1, total + 1))
        loads = [sum(n for g, n in groups.items() if owner[g] == i) for i in range(1, total + 1)]
        assert max(loads) - min(loads) <= max(groups.values()), (total, loads)
    assert groups_of([("a", "x"), ("a", "x"), ("b", "x")]) == {("a", "x"): 2, ("b", "x"): 1}


def test_cli_refuses_a_bad_shard(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--shard", "3/2", "--target", "reference"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("atcheck: --shard 3/2") and len(err.strip().splitlines()) == 1


SUITE = textwrap.dedent(
    """
    import pytest
    from atcheck.checks import expect_error, expect_ok

    @pytest.mark.requirement("XRPC-HTTP-01")
    def test_describe(pds):
        expect_ok(pds.query("com.atproto.server.describeServer"))

    @pytest.mark.requirement("XRPC-ERR-01")
    def test_unknown_is_400(pds):
        expect_error(pds.query("com.example.nothing"), 400)
    """
)


def _manifest(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "{name}"
            implementation = "fake-pds"
            version = "0"
            provisioning = "given"
            capabilities = ["server.describe", "xrpc.errors"]

            [[service]]
            name = "pds"
            roles = ["pds"]
            health = {{ path = "/xrpc/_health", timeout = 5 }}
            [service.process]
            command = ["{{python}}", "{FAKE}", "{{port}}", "{tmp_path / (name + ".pid")}"]
            env = {{ FAKE_MODE = "ok" }}
            """
        ),
        encoding="utf-8",
    )
    return path


def _session(tmp_path: Path, out: Path, *extra: str, codes: tuple[int, ...] = (0, 1)) -> dict[str, Any]:
    env = {**os.environ, "ATCHECK_HOME": str(Path(__file__).resolve().parents[2])}
    env.pop("ATCHECK_TARGETS", None)
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(tmp_path / "test_fake_suite.py"),
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q",
            "--atcheck-target", str(_manifest(tmp_path, "fake-a")),
            "--atcheck-target", str(_manifest(tmp_path, "fake-b")),
            "--atcheck-report-dir", str(out), "-W", "ignore::pytest.PytestAssertRewriteWarning", *extra,
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in codes, done.stdout + done.stderr  # the fake fails one check on purpose
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


def _cells(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r["target"], r["test_id"], r["outcome"]) for r in report["results"])


def test_shards_split_by_target_and_merge_into_the_whole_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "test_fake_suite.py").write_text(SUITE, encoding="utf-8")
    whole = _session(tmp_path, tmp_path / "whole")
    one = _session(tmp_path, tmp_path / "s1", "--atcheck-shard", "1/2")
    two = _session(tmp_path, tmp_path / "s2", "--atcheck-shard", "2/2")
    assert len(whole["results"]) == 4
    # Each shard ran one target's group whole: a target is never split across shards.
    assert len({r["target"] for r in one["results"]}) == 1 and len({r["target"] for r in two["results"]}) == 1
    assert _cells(one) + _cells(two) != [] and sorted(_cells(one) + _cells(two)) == _cells(whole)
    assert one["environment"]["shard"] == "1/2" and two["environment"]["shard"] == "2/2"
    idle = {t["name"]: t["status"] for t in one["targets"]}
    assert sorted(idle.values()) == ["not-run", "ran"]  # the other shard's target was never started here
    merge = ["report", "merge", str(tmp_path / "s2"), str(tmp_path / "s1"), "--out", str(tmp_path / "m")]
    assert cli.main(merge) == (1 if whole["summary"]["must_failed"] else 0)  # the whole run's verdict
    capsys.readouterr()
    merged = json.loads((tmp_path / "m" / "report.json").read_text(encoding="utf-8"))
    assert _cells(merged) == _cells(whole)
    assert merged["matrix"] == whole["matrix"]
    assert {t["name"]: t["status"] for t in merged["targets"]} == {"fake-a": "ran", "fake-b": "ran"}
    # A shard of more shards than groups runs nothing, and says which groups it had (none).
    three = _session(
        tmp_path, tmp_path / "s3", "--atcheck-shard", "3/3", codes=(5,)
    )  # pytest: none collected
    assert three["results"] == [] and three["environment"]["shard.groups"] == ""


def test_cli_hands_the_shard_to_the_run() -> None:
    args = cli.build_parser().parse_args(["run", "--shard", "2/3", "--target", "reference"])
    assert cli.run_options(args).shard == Shard(2, 3)
    args = cli.build_parser().parse_args(["run", "--target", "reference"])
    assert cli.run_options(args).shard is None
