"""One run of atcheck: its ID, its report directory, its targets and their stack, and its results.

The pytest plugin drives a :class:`Run`; the CLI reads what it wrote. Keeping the run's state here, away from
pytest hooks, lets self-tests exercise it without pytest-in-pytest.
"""

from __future__ import annotations

import atexit
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

# Imported for its registration: the process launcher starts library targets through the starter this
# registers (the targets layer must not import atcheck.libs), so it is there before any stack starts.
import atcheck.libs.launch  # noqa: F401
from atcheck import __version__
from atcheck.baseline import Baseline
from atcheck.report.model import RunReport, TargetInfo, TestResult
from atcheck.report.redact import scrub_files
from atcheck.shard import Shard
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import Role
from atcheck.targets.spec import TargetSpec, parse_targets, unavailable_reason
from atcheck.targets.stack import Stack

#: Why a target that started nothing did not run: no test of this run (or of this shard) needed it.
IDLE_REASON = "no test needed it"


def new_run_id() -> str:
    """Sortable and unique: UTC time to the second plus a short random tail."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Run:
    """The state of one run, from configure to the written report."""

    run_id: str
    report_dir: Path
    targets: dict[str, TargetSpec]  # by the run's name ("reference@container")
    stack: Stack
    scratch_dir: Path
    started_at: str = field(default_factory=now_iso)
    started_monotonic: float = field(default_factory=time.monotonic)
    results: list[TestResult] = field(default_factory=list)
    tests_by_requirement: dict[str, list[str]] = field(default_factory=dict)
    baseline: Baseline = field(default_factory=Baseline)
    progress_group: tuple[str, str] | None = None  # (target, suite area) of the tests now running
    progress_counts: dict[str, int] = field(default_factory=dict)
    # Optional default targets left out because they cannot run here: reported as not run, with the reason.
    unavailable: dict[str, tuple[TargetSpec, str]] = field(default_factory=dict)
    report: RunReport | None = None  # the report, once written: its verdict is the run's
    shard: Shard | None = None  # this run is one shard of a larger one (atcheck.shard)
    shard_groups: list[str] = field(default_factory=list)  # its "target/suite" groups, for the report
    _closed: bool = False

    @classmethod
    def create(cls, targets: tuple[TargetSpec, ...], report_dir: Path | None, reports_root: Path) -> Run:
        """A run of ``targets`` (the default targets when empty), reporting into ``report_dir``."""
        run_id = new_run_id()
        by_name = {t.name: t for t in targets} if targets else parse_targets(())
        unavailable: dict[str, tuple[TargetSpec, str]] = {}
        for name, target in list(by_name.items()):
            reason = unavailable_reason(target) if target.optional else None
            if reason is not None:
                unavailable[name] = (by_name.pop(name), reason)
        out = report_dir or reports_root / run_id
        scratch = Path(tempfile.mkdtemp(prefix=f"atcheck-{run_id}-"))
        ctx = LaunchContext(
            run_id=run_id,
            run_dir=scratch,
            log_dir=out / "logs",
            labels={"org.atcheck.run": run_id},
        )
        fallback = [m for n, m in builtin_manifests().items() if n == "reference"]
        stack = Stack(by_name.values(), ctx, fallback_providers=fallback)
        run = cls(run_id=run_id, report_dir=out, targets=by_name, stack=stack, scratch_dir=scratch)
        run.unavailable = unavailable
        run._install_guards()
        return run

    # -- teardown, whatever happens ------------------------------------------------------------------------

    def _install_guards(self) -> None:
        """Stop what we started on interpreter exit and on SIGTERM, not only on a normal session end."""
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():  # signal handlers live there only

            def on_term(signum: int, frame: FrameType | None) -> None:
                # Treated like Ctrl-C: pytest unwinds, fixtures tear down, the session ends and writes a
                # partial report, and close() stops every service. A SystemExit here would be taken for
                # a failure of whichever test was running, and the session would go on.
                raise KeyboardInterrupt(f"signal {signum}")

            signal.signal(signal.SIGTERM, on_term)

    def close(self) -> None:
        """Stop every service and remove the scratch dir. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self.stack.stop_all()
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
        self._scrub_logs()

    def _scrub_logs(self) -> None:
        """Service logs sit beside the reports, so the run's secrets are scrubbed from them too."""
        log_dir = self.report_dir / "logs"
        if log_dir.is_dir():
            scrub_files(log_dir.iterdir(), self.stack.all_secrets())

    # -- reporting ---------------------------------------------------------------------------------------

    def _shard_environment(self) -> dict[str, str]:
        """What ``atcheck report merge`` checks: which shard of how many, and the groups it ran."""
        if self.shard is None:
            return {}
        return {"shard": str(self.shard), "shard.groups": ", ".join(self.shard_groups)[:2000]}

    def target_infos(self) -> list[TargetInfo]:
        infos = []
        left_out = {name: target for name, (target, _) in self.unavailable.items()}
        for name, target in {**self.targets, **left_out}.items():
            manifest = target.manifest
            failure = self.stack.failure(name)
            ran = any(r.target == name for r in self.results)
            started = name in self.stack.start_times
            status = "ran" if (started or ran) and failure is None else "not-run"
            reason = str(failure) if failure else (None if status == "ran" else IDLE_REASON)
            if name in self.unavailable:
                kind = "a library target" if manifest.roles == (Role.LIB,) else "an optional default target"
                reason = f"{self.unavailable[name][1]} ({kind}; the run went on)"
            infos.append(
                TargetInfo(
                    name=name,
                    implementation=manifest.implementation,
                    version=manifest.version,
                    roles=[r.value for r in manifest.roles],
                    launcher=target.launcher,
                    capabilities=sorted(manifest.capabilities),
                    status=status,
                    reason=reason,
                )
            )
        return infos

    def build_report(self) -> RunReport:
        from atcheck.catalogue import load_catalogue

        catalogue = load_catalogue()
        requirements = [
            catalogue.to_requirement_info(req, sorted(self.tests_by_requirement.get(req.id, [])))
            for req in catalogue
        ]
        return RunReport(
            atcheck_version=__version__,
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=now_iso(),
            duration_s=round(time.monotonic() - self.started_monotonic, 3),
            targets=self.target_infos(),
            requirements=requirements,
            results=self.results,
            environment={
                "python": platform.python_version(),
                "platform": platform.platform(),
                "ci": "true" if os.environ.get("CI") else "false",
                "argv": " ".join(sys.argv[1:])[:500],
                **{f"start_time_s.{n}": f"{t:.2f}" for n, t in self.stack.start_times.items()},
                **self._shard_environment(),
            },
        )
