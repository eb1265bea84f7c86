"""Join the reports of a run's shards (``atcheck run --shard I/N``) into one report, as if one machine ran it.

Shards are only joined when they measure against the same yardstick: the same requirement catalogue (compared
by a digest of every requirement's ID, level, area and statement, since the catalogue is the denominator of
every figure) and the same number of shards with no shard given twice. Two shards that recorded a result for
the same (target, test) overlap, and joining them would count it twice, so that is refused too. Every refusal
is one clear line naming the files, never a half-merged report.

What cannot be re-derived from report.json is copied beside the new report: each shard's ``logs/`` (under
``logs/shard-I/``, since two shards may both have started the same target) and its ``allure-results/`` (files
with unique names, so they go together in one folder).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from atcheck.errors import SetupError, UsageError
from atcheck.report.diff import resolve_report_path
from atcheck.report.json_writer import read_report
from atcheck.report.model import RequirementInfo, RunReport, TargetInfo
from atcheck.report.writer import write_reports

#: The reason a shard gives a target it had no test for (atcheck.run.IDLE_REASON); any other says more.
_IDLE_REASON = "no test needed it"


def catalogue_digest(requirements: Sequence[RequirementInfo]) -> str:
    """A short digest of the catalogue a report was measured against (what makes figures comparable)."""
    rows = sorted([r.id, r.level, r.area, r.statement] for r in requirements)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class ShardReport:
    path: Path  # the report.json
    report: RunReport

    @property
    def shard(self) -> tuple[int, int] | None:
        """(index, total) from the report's environment, or None for an unsharded run."""
        text = self.report.environment.get("shard", "")
        index, _, total = text.partition("/")
        if index.isdigit() and total.isdigit():
            return int(index), int(total)
        return None


def load_shards(args: Sequence[str]) -> list[ShardReport]:
    if not args:
        raise UsageError("report merge: name at least one shard's report directory or report.json")
    shards = []
    for arg in args:
        path = resolve_report_path(arg)
        shards.append(ShardReport(path, read_report(path)))
    return shards


def check_compatible(shards: Sequence[ShardReport]) -> list[str]:
    """Raise :class:`UsageError` when the shards cannot be joined; return warnings (missing shards)."""
    first = shards[0]
    digest = catalogue_digest(first.report.requirements)
    for other in shards[1:]:
        theirs = catalogue_digest(other.report.requirements)
        if theirs != digest:
            raise UsageError(
                f"incompatible shards: {first.path} and {other.path} were measured against different "
                f"requirement catalogues ({digest} vs {theirs}; atcheck {first.report.atcheck_version} vs "
                f"{other.report.atcheck_version})"
            )
    seen: dict[int, Path] = {}
    totals = {s.shard[1] for s in shards if s.shard}
    if len(totals) > 1:
        raise UsageError(f"incompatible shards: they split the run differently (N = {sorted(totals)})")
    for s in shards:
        if s.shard is None:
            continue
        index = s.shard[0]
        if index in seen:
            raise UsageError(f"shard {index} given twice: {seen[index]} and {s.path}")
        seen[index] = s.path
    owner: dict[tuple[str, str], Path] = {}
    for s in shards:
        for result in s.report.results:
            key = (result.target, result.test_id)
            if key in owner and owner[key] != s.path:
                raise UsageError(
                    f"overlapping shards: {owner[key]} and {s.path} both have a result for "
                    f"{result.test_id} on {result.target}"
                )
            owner[key] = s.path
    warnings = []
    if totals:
        total = totals.pop()
        missing = sorted(set(range(1, total + 1)) - set(seen))
        if missing:
            warnings.append(
                f"shard(s) {', '.join(map(str, missing))} of {total} missing: the merged report lacks "
                "their tests (shown as not run)"
            )
    return warnings


def _merge_targets(shards: Sequence[ShardReport]) -> list[TargetInfo]:
    merged: dict[str, TargetInfo] = {}
    for s in shards:
        for target in s.report.targets:
            have = merged.get(target.name)
            if have is None or (have.status != "ran" and target.status == "ran"):
                merged[target.name] = replace(target)
            elif have.status != "ran" and target.reason and have.reason == _IDLE_REASON:
                merged[target.name] = replace(have, reason=target.reason)
    return list(merged.values())


def _merge_requirements(shards: Sequence[ShardReport]) -> list[RequirementInfo]:
    tests: dict[str, dict[str, None]] = {}
    for s in shards:
        for req in s.report.requirements:
            tests.setdefault(req.id, {}).update(dict.fromkeys(req.tests))
    return [replace(req, tests=sorted(tests[req.id])) for req in shards[0].report.requirements]


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def merge_reports(shards: Sequence[ShardReport], run_id: str | None = None) -> RunReport:
    """One report holding every shard's results (in the order the shards are given)."""
    reports = [s.report for s in shards]
    starts = sorted(reports, key=lambda r: _parse_time(r.started_at) or datetime.max.astimezone())
    ends = sorted(reports, key=lambda r: _parse_time(r.finished_at) or datetime.min.astimezone())
    started, finished = starts[0].started_at, ends[-1].finished_at
    t0, t1 = _parse_time(started), _parse_time(finished)
    span = (t1 - t0).total_seconds() if t0 and t1 else max(r.duration_s for r in reports)
    environment = {k: v for k, v in reports[0].environment.items() if not k.startswith("shard")}
    environment["shards"] = ", ".join(
        f"{s.report.environment.get('shard', 'unsharded')} ({s.report.run_id})" for s in shards
    )[:2000]
    return RunReport(
        atcheck_version=reports[0].atcheck_version,
        run_id=run_id or f"{min(r.run_id for r in reports)}-merged",
        started_at=started,
        finished_at=finished,
        duration_s=round(max(span, 0.0), 3),
        targets=_merge_targets(shards),
        requirements=_merge_requirements(shards),
        results=[result for r in reports for result in r.results],
        environment=environment,
    )


def _copy_tree(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)


def write_merged(shards: Sequence[ShardReport], out: Path, run_id: str | None = None) -> RunReport:
    """Merge, write every report format into ``out``, and copy the shards' logs and allure results."""
    report = merge_reports(shards, run_id)
    if out.exists() and any(out.iterdir()):
        sources = {s.path.parent.resolve() for s in shards}
        if out.resolve() in sources:
            raise UsageError(f"--out {out} is one of the shards; choose a new directory")
    write_reports(report, out)
    try:
        for n, s in enumerate(shards, start=1):
            index = s.shard[0] if s.shard else n
            _copy_tree(s.path.parent / "logs", out / "logs" / f"shard-{index}")
            _copy_tree(s.path.parent / "allure-results", out / "allure-results")
    except OSError as exc:
        raise SetupError(f"cannot copy the shards' logs into {out}: {exc}") from exc
    return report
