"""Run a selfcheck: one stack per target, proxies in front of its services, a suite run per fault.

The target is started once (the suites only add accounts and records to it, which later runs do not mind)
and every run goes through the proxies: first with no fault, the *baseline*, over every area some fault
declares; then one run per fault over its own areas. A fault is killed by each test that passed in the
baseline and fails (or errors) with the fault applied. Comparing with the baseline, not with "passed",
keeps tests the proxy itself makes fail (a DID document that names the real PDS, not the proxy) from
counting as kills. Runs are sequential, each in a fresh worker process, so a 2-core machine carries one
pytest session and one stack at a time; derandomized draws make the baseline and every fault run send the
same examples.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

# Registers the starter of library targets before this module's own stacks start (see atcheck.run).
import atcheck.libs.launch  # noqa: F401
from atcheck.errors import UsageError
from atcheck.paths import project_root, suites_dir
from atcheck.selfcheck.faults import FAULTS, Fault
from atcheck.selfcheck.proxy import FaultProxy
from atcheck.selfcheck.worker import WorkOrder
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.manifest import builtin_manifests
from atcheck.targets.model import HealthCheck, Role, ServiceEndpoint, ServiceSpec
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack
from atcheck.targets.templating import literal

#: Roles the proxies stand in front of.
PROXIED_ROLES = (Role.PDS, Role.PLC, Role.LABELER, Role.RELAY)

#: Tests left out of every selfcheck run, with the reason: what they judge, shorter tests judge too.
SLOW_TESTS = {
    "test_an_idle_connection_carries_only_valid_frames": (
        "waits 60 s on an idle subscription; every frame rule it checks is checked on the frames of the "
        "other firehose tests"
    ),
}

#: Tests that cannot run behind the proxies, with the reason (they would fail in every baseline, so judge
#: nothing).
UNRUNNABLE_TESTS = {
    "test_a_relay_follows_a_migrated_account_to_its_new_host": (
        "needs a second instance of the PDS the relay follows, started by the stack; a selfcheck's run has "
        "only URL targets, whose second instance is the same PDS (createAccount fails: the email is taken)"
    ),
}

#: Seconds one worker run may take before it is stopped (and its fault reported as not judged).
RUN_TIMEOUT_S = 900.0

FAILING = ("failed", "error")


@dataclass
class FaultResult:
    """One row of the kill matrix."""

    fault: str
    category: str
    role: str
    area: list[str]
    target: str
    killed: bool
    tests: list[str]
    applied: int  # exchanges or frames the fault changed during its run
    doc: str
    survives: str | None = None
    seconds: float = 0.0
    problem: str | None = None  # the run could not judge (the worker crashed or timed out)

    def as_json(self) -> dict[str, object]:
        return {
            "fault": self.fault,
            "area": self.area,
            "killed": self.killed,
            "tests": self.tests,
            "target": self.target,
            "category": self.category,
            "role": self.role,
            "applied": self.applied,
            "doc": self.doc,
            "survives": self.survives,
            "seconds": round(self.seconds, 1),
            "problem": self.problem,
        }


@dataclass
class Selfcheck:
    """What a selfcheck produced: the rows, and the figures of the runs."""

    results: list[FaultResult] = field(default_factory=list)
    baseline_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    not_applicable: dict[str, list[str]] = field(default_factory=dict)  # target -> faults of absent roles


def select_faults(names: Iterable[str]) -> list[Fault]:
    """The faults named (all of them when none is), in catalogue order; an unknown name is a usage error."""
    import atcheck.selfcheck.catalogue  # noqa: F401  (registers the faults)

    wanted = list(names)
    unknown = [n for n in wanted if n not in FAULTS]
    if unknown:
        raise UsageError(f"unknown fault(s) {', '.join(unknown)} (see `atcheck selfcheck --list`)")
    return [f for n, f in FAULTS.items() if not wanted or n in wanted]


def proxied_target(
    spec: TargetSpec, endpoints: dict[Role, ServiceEndpoint], proxies: dict[Role, FaultProxy]
) -> TargetSpec:
    """``spec`` as a URL target whose every proxied service is reached through its proxy."""
    return url_target(spec, endpoints, {role: proxy.url for role, proxy in proxies.items()})


def url_target(spec: TargetSpec, endpoints: dict[Role, ServiceEndpoint], urls: dict[Role, str]) -> TargetSpec:
    """``spec`` as a URL target whose service of each role of ``urls`` is reached at that URL.

    A service that follows every provider of a role (a relay: ``needs_all = ["pds"]``) keeps saying so, so
    the worker's run hands it the PDS targets it follows, as the relay's own run did.
    """
    fallback = builtin_manifests().get("reference")
    services = []
    for role, url in urls.items():
        endpoint = endpoints[role]
        original = spec.manifest.provider(role) or (fallback.provider(role) if fallback else None)
        health = original.health.path if original is not None else "/"
        follows = original.needs_all if original is not None and role in spec.manifest.roles else ()
        services.append(
            ServiceSpec(
                name=role.value,
                roles=(role,),
                needs_all=follows,
                url=url,
                health=HealthCheck(path=health, timeout_s=10.0),
                did=literal(endpoint.did) if endpoint.did else None,
                credentials={k: literal(v) for k, v in vars(endpoint.credentials).items() if v},
            )
        )
    manifest = replace(spec.manifest, services=tuple(services))
    return TargetSpec(name=spec.name, manifest=manifest, launcher="url")


def upstreams_of(spec: TargetSpec) -> list[TargetSpec]:
    """The PDS targets a selfcheck starts beside ``spec`` for it to follow: the reference's PDS when ``spec``
    is a relay (a service that needs every PDS of the run) with no PDS of its own.

    Alone, a relay follows nobody, and every test that judges one (a PDS's commits coming out of it, its
    hosting status following the PDS's) is skipped: its faults would measure nothing.
    """
    wants_pds = any(Role.PDS in s.needs_all for s in spec.manifest.services)
    reference = builtin_manifests().get("reference")
    if not wants_pds or Role.PDS in spec.manifest.roles or reference is None or spec.name == reference.name:
        return []
    return [TargetSpec.of(reference, "container" if spec.launcher == "container" else "process")]


def relocate(proxies: dict[Role, FaultProxy]) -> None:
    """Have the PLC proxy name the other proxies in DID documents, by the names services publish (a PDS on
    port N publishes ``http://localhost:N``)."""
    plc = proxies.get(Role.PLC)
    if plc is None:
        return
    for role, proxy in proxies.items():
        if role == Role.PLC:
            continue
        port = urlsplit(proxy.upstream).port
        for host in ("localhost", "127.0.0.1"):
            plc.relocations[f"http://{host}:{port}"] = proxy.url


def run_suites(
    target: TargetSpec,
    areas: Iterable[str],
    out: Path,
    log: Path,
    suites_root: Path | None = None,
    peers: tuple[TargetSpec, ...] = (),
) -> dict[str, str]:
    """Run the suites of ``areas`` (folders of ``suites_root``, default ``suites/``) against ``target`` in a
    worker, with ``peers`` in the run but not judged (the PDSes a relay follows); test id -> outcome (empty
    when the worker crashed or timed out)."""
    root = suites_root or suites_dir()
    paths = tuple(str(root / a) for a in sorted(set(areas)) if (root / a).is_dir())
    order = WorkOrder(
        target=target, paths=paths, report_dir=out, deselect=(*SLOW_TESTS, *UNRUNNABLE_TESTS), peers=peers
    )
    env = {**os.environ, "ATCHECK_DERANDOMIZE": "1", "ATCHECK_SHRINK": "0"}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "atcheck.selfcheck.worker"],
            stdin=subprocess.PIPE,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=project_root(),
            env=env,
        )
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps(order))
        proc.stdin.close()
        try:
            proc.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            return {}
        except BaseException:  # Ctrl-C or SIGTERM: the worker goes too, before the stack it talks to
            proc.kill()
            proc.wait(timeout=30)
            raise
    report = out / "report.json"
    if not report.is_file():
        return {}
    data = json.loads(report.read_text(encoding="utf-8"))
    return {r["test_id"]: r["outcome"] for r in data.get("results", [])}


def judge(
    fault: Fault, target: str, baseline: dict[str, str], outcomes: dict[str, str], applied: int
) -> FaultResult:
    """The matrix row of ``fault``: the tests that passed in the baseline and fail with it."""
    killers = sorted(t for t, o in outcomes.items() if o in FAILING and baseline.get(t) == "passed")
    return FaultResult(
        fault=fault.name,
        category=fault.category,
        role=fault.role,
        area=list(fault.areas),
        target=target,
        killed=bool(killers),
        tests=killers,
        applied=applied,
        doc=fault.doc,
        survives=fault.survives,
        problem=None if outcomes else "the suite run wrote no report (crashed or timed out; see its log)",
    )


def selfcheck(
    targets: Iterable[TargetSpec],
    faults: list[Fault],
    report_dir: Path,
    progress: Callable[[str], None] = lambda line: None,
    suites_root: Path | None = None,
) -> Selfcheck:
    """Run every fault of ``faults`` whose role some target provides; stop everything started, whatever
    happens."""
    started = time.monotonic()
    result = Selfcheck()
    fallback = [m for n, m in builtin_manifests().items() if n == "reference"]
    for spec in targets:
        scratch = Path(tempfile.mkdtemp(prefix="atcheck-selfcheck-"))
        ctx = LaunchContext(run_id="selfcheck", run_dir=scratch, log_dir=report_dir / "logs" / spec.name)
        followed = upstreams_of(spec)
        stack = Stack([spec, *followed], ctx, fallback_providers=fallback)
        proxies: dict[Role, FaultProxy] = {}
        try:
            running = stack.start(spec.name)
            # The PDSes a relay follows, reached directly: the relay names them by the host it dials.
            peers = tuple(
                url_target(u, (ep := stack.start(u.name).endpoints), {r: e.url for r, e in ep.items()})
                for u in followed
            )
            for role in PROXIED_ROLES:
                endpoint = running.endpoints.get(role)
                if endpoint is not None:
                    proxies[role] = FaultProxy(role.value, endpoint.url)
            relocate(proxies)
            proxied = proxied_target(spec, running.endpoints, proxies)
            # Faults of the services this target runs itself: a labeler's PLC is the reference's, and its
            # faults are the reference's selfcheck, not this one.
            own = {r.value for r in proxies if r in spec.manifest.roles}
            mine = [f for f in faults if f.role in own]
            result.not_applicable[spec.name] = [f.name for f in faults if f not in mine]
            if not mine:
                continue
            areas = sorted({a for f in mine for a in f.areas})
            t0 = time.monotonic()
            base_dir = report_dir / "runs" / spec.name / "baseline"
            baseline = run_suites(proxied, areas, base_dir, base_dir / "output.txt", suites_root, peers)
            result.baseline_seconds[spec.name] = round(time.monotonic() - t0, 1)
            passed = sum(1 for o in baseline.values() if o == "passed")
            progress(
                f"{spec.name}: baseline over {', '.join(areas)}: {passed} of {len(baseline)} passed "
                f"({result.baseline_seconds[spec.name]} s)"
            )
            for number, fault in enumerate(mine, 1):
                t0 = time.monotonic()
                for proxy in proxies.values():
                    proxy.set_fault(fault)
                run_dir = report_dir / "runs" / spec.name / fault.name
                try:
                    outcomes = run_suites(
                        proxied, fault.areas, run_dir, run_dir / "output.txt", suites_root, peers
                    )
                finally:
                    applied = proxies[Role(fault.role)].applied
                    for proxy in proxies.values():
                        proxy.set_fault(None)
                row = judge(fault, spec.name, baseline, outcomes, applied)
                row.seconds = time.monotonic() - t0
                result.results.append(row)
                verdict = "killed" if row.killed else "SURVIVED"
                progress(
                    f"[{number}/{len(mine)}] {fault.name}: {verdict} by {len(row.tests)} test(s), "
                    f"applied {applied}x ({row.seconds:.0f} s)"
                )
        finally:
            for proxy in proxies.values():
                proxy.close()
            stack.stop_all()
            shutil.rmtree(scratch, ignore_errors=True)
    result.wall_seconds = round(time.monotonic() - started, 1)
    return result
