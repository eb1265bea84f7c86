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

from atcheck import __version__
from atcheck.baseline import Baseline
from atcheck.report.model import RunReport, TargetInfo, TestResult
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests, resolve_target
from atcheck.targets.model import TargetManifest
from atcheck.targets.stack import CONTAINER_SUFFIX, Stack, launcher_kind

#: The targets a run checks when none is named.
DEFAULT_TARGETS = ("reference", "arroba")


def new_run_id() -> str:
    """Sortable and unique: UTC time to the second plus a short random tail."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def resolve_targets(specs: list[str]) -> dict[str, TargetManifest]:
    """Run names -> manifests. ``reference@container`` runs the reference manifest in containers."""
    targets: dict[str, TargetManifest] = {}
    for spec in specs or list(DEFAULT_TARGETS):
        base = spec.removesuffix(CONTAINER_SUFFIX)
        manifest = resolve_target(base)
        name = manifest.name + (CONTAINER_SUFFIX if spec.endswith(CONTAINER_SUFFIX) else "")
        targets[name] = manifest
    return targets


@dataclass
class Run:
    """The state of one run, from configure to the written report."""

    run_id: str
    report_dir: Path
    targets: dict[str, TargetManifest]
    stack: Stack
    scratch_dir: Path
    started_at: str = field(default_factory=now_iso)
    started_monotonic: float = field(default_factory=time.monotonic)
    results: list[TestResult] = field(default_factory=list)
    tests_by_requirement: dict[str, list[str]] = field(default_factory=dict)
    baseline: Baseline = field(default_factory=Baseline)
    progress_group: tuple[str, str] | None = None  # (target, suite area) of the tests now running
    progress_counts: dict[str, int] = field(default_factory=dict)
    _closed: bool = False

    @classmethod
    def create(cls, target_specs: list[str], report_dir: Path | None, reports_root: Path) -> Run:
        run_id = new_run_id()
        targets = resolve_targets(target_specs)
        out = report_dir or reports_root / run_id
        scratch = Path(tempfile.mkdtemp(prefix=f"atcheck-{run_id}-"))
        ctx = LaunchContext(
            run_id=run_id,
            run_dir=scratch,
            log_dir=out / "logs",
            labels={"org.atcheck.run": run_id},
        )
        fallback = {n: m for n, m in builtin_manifests().items() if n == "reference"}
        stack = Stack(targets, ctx, fallback_providers=fallback)
        run = cls(run_id=run_id, report_dir=out, targets=targets, stack=stack, scratch_dir=scratch)
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
        if not log_dir.is_dir():
            return
        from atcheck.report.redact import Redactor

        redactor = Redactor(self.stack.all_secrets())
        for path in log_dir.iterdir():
            if not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
                scrubbed = redactor.text(text)
                if scrubbed != text:
                    path.write_text(scrubbed, encoding="utf-8")
            except OSError:
                continue

    # -- reporting ---------------------------------------------------------------------------------------

    def target_infos(self) -> list[TargetInfo]:
        infos = []
        for name, manifest in self.targets.items():
            failure = self.stack.failure(name)
            ran = any(r.target == name for r in self.results)
            started = name in self.stack.start_times
            status = "ran" if (started or ran) and failure is None else "not-run"
            reason = str(failure) if failure else (None if status == "ran" else "no test needed it")
            infos.append(
                TargetInfo(
                    name=name,
                    implementation=manifest.implementation,
                    version=manifest.version,
                    roles=[r.value for r in manifest.roles],
                    launcher=launcher_kind(manifest, name),
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
            },
        )
