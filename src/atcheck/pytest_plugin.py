"""atcheck's pytest plugin: targets as parameters, requirements as markers, results as a compliance report.

In the spirit of Complement and Bowtie, a suite test is written once, against roles (a PDS, its PLC), and runs
once per target of the run. The plugin

- resolves the run's targets (``--atcheck-target``, default: reference and arroba) and starts each lazily,
  on the first test that needs it, through :class:`atcheck.targets.stack.Stack`;
- parametrizes every test that uses the ``target`` fixture (directly or through ``pds``, ``plc``,
  ``account``...) over those targets;
- checks ``@pytest.mark.requirement`` IDs against the catalogue (an unknown ID, or a suite test without one,
  fails collection) and skips tests whose ``@pytest.mark.needs`` capabilities a target does not declare;
- records one :class:`~atcheck.report.model.TestResult` per (test, target), with the HTTP exchanges as
  evidence, and writes the reports at the end of the session;
- stops every process it started, on success, failure and Ctrl-C alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from atcheck.accounts import Account, AccountFactory
from atcheck.baseline import load_baseline
from atcheck.checks import ConformanceFailure
from atcheck.errors import AtcheckError
from atcheck.paths import reports_dir, suites_dir
from atcheck.report.model import Outcome, TestResult
from atcheck.report.redact import Redactor
from atcheck.run import Run
from atcheck.suite.target import TargetDidNotStart, TargetUnderTest
from atcheck.targets.model import Role
from atcheck.xrpc.client import EvidenceRecorder, TransportFailure, XrpcClient

_RUN_KEY = pytest.StashKey[Run]()
_RESULT_KEY = pytest.StashKey[TestResult]()
_LEVEL_ORDER = {"MUST": 0, "SHOULD": 1, "MAY": 2}


# -- options ---------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("atcheck", "atcheck conformance runs")
    group.addoption(
        "--atcheck-target",
        action="append",
        default=[],
        metavar="NAME|MANIFEST.toml|URL",
        help="a target to check (repeatable); default: $ATCHECK_TARGETS or reference and arroba",
    )
    group.addoption(
        "--atcheck-requirement",
        action="append",
        default=[],
        metavar="ID",
        help="only run tests that check this requirement ID (repeatable)",
    )
    group.addoption(
        "--atcheck-report-dir",
        default=None,
        metavar="DIR",
        help="where to write the reports (default: reports/<run-id>/, with reports/latest pointing at it)",
    )
    group.addoption(
        "--atcheck-baseline",
        default=None,
        metavar="FILE",
        help="known failures (TOML): reported as failed, but they do not fail the session",
    )
    group.addoption(
        "--atcheck-no-report",
        action="store_true",
        default=False,
        help="do not write the compliance report (self-tests of the harness)",
    )


def _runs_suites(config: pytest.Config) -> bool:
    """Whether this session runs conformance suites (and so writes a report)."""
    if config.getoption("--atcheck-no-report"):
        return False
    if config.getoption("--atcheck-report-dir"):
        return True
    try:
        suites = suites_dir().resolve()
    except AtcheckError:
        return False
    args = [a.split("::")[0] for a in config.args] or [str(p) for p in config.getini("testpaths")]
    for arg in args:
        path = (Path(config.invocation_params.dir) / arg).resolve()
        if path == suites or suites in path.parents or path in suites.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): catalogue IDs of the requirements a test checks")
    config.addinivalue_line(
        "markers",
        "role(name): the service role a test checks (pds, plc, ...), charged with its failures; "
        "by default the one role its requirements' applies_to name",
    )
    config.addinivalue_line("markers", "needs(*capabilities): capabilities a target must declare")
    if not _runs_suites(config) or hasattr(config, "workerinput"):
        return
    specs = list(config.getoption("--atcheck-target"))
    if not specs and os.environ.get("ATCHECK_TARGETS"):
        specs = [s.strip() for s in os.environ["ATCHECK_TARGETS"].split(",") if s.strip()]
    given = config.getoption("--atcheck-report-dir")
    try:
        run = Run.create(specs, Path(given) if given else None, reports_dir())
    except AtcheckError as exc:
        raise pytest.UsageError(f"atcheck: {exc}") from None
    baseline_path = config.getoption("--atcheck-baseline")
    if baseline_path:
        try:
            run.baseline = load_baseline(Path(baseline_path))
        except AtcheckError as exc:
            run.close()
            raise pytest.UsageError(f"atcheck: {exc}") from None
    config.stash[_RUN_KEY] = run
    # allure-pytest writes its own results beside ours, unless the user pointed it elsewhere.
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(run.report_dir / "allure-results")
        config.option.clean_alluredir = True


def _run(config: pytest.Config) -> Run | None:
    return config.stash.get(_RUN_KEY, None)


def run_of(config: pytest.Config) -> Run | None:
    """The atcheck run of a pytest session, if it runs conformance suites."""
    return _run(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _run(config)
    if run is None:
        return []
    names = ", ".join(run.targets)
    return [f"atcheck run {run.run_id}: targets {names}; report -> {run.report_dir}"]


# -- collection: requirements and target parametrization -------------------------------------------------


def _requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids.extend(str(a) for a in mark.args)
    return ids


def _role(item: pytest.Item) -> str | None:
    """The service role the test checks (see :func:`atcheck.report.defects.charged_role`)."""
    from atcheck.catalogue import load_catalogue
    from atcheck.report.defects import charged_role

    marked = next((str(m.args[0]) for m in item.iter_markers("role") if m.args), None)
    catalogue = load_catalogue()
    ids = [i for i in _requirement_ids(item) if i in catalogue]
    return charged_role(marked, (catalogue.get(i).applies_to for i in ids))


def _in_suites(item: pytest.Item) -> bool:
    try:
        suites = suites_dir().resolve()
    except AtcheckError:
        return False
    path = Path(str(item.path)).resolve()
    return suites in path.parents


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    run = _run(metafunc.config)
    names = list(run.targets) if run is not None else []
    # Session scope groups the tests of one target together, so each target starts once and early ones stop
    # being needed sooner; an empty list makes pytest skip the test with "got empty parameter set".
    metafunc.parametrize("target", names, indirect=True, scope="session", ids=names)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = _run(config)
    if run is None and not any(_requirement_ids(i) or _in_suites(i) for i in items):
        return  # plain self-tests of the harness: nothing to check against the catalogue
    from atcheck.catalogue import load_catalogue

    try:
        catalogue = load_catalogue()
    except AtcheckError as exc:
        raise pytest.UsageError(f"atcheck: {exc}") from None
    problems: list[str] = []
    wanted = set(config.getoption("--atcheck-requirement"))
    unknown_wanted = sorted(i for i in wanted if i not in catalogue)
    if unknown_wanted:
        raise pytest.UsageError(f"atcheck: unknown requirement ID(s) {', '.join(unknown_wanted)}")
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        ids = _requirement_ids(item)
        if _in_suites(item) and not ids:
            problems.append(f"{item.nodeid}: a conformance test must name its requirement(s)")
        unknown = [i for i in ids if i not in catalogue]
        if unknown:
            problems.append(f"{item.nodeid}: unknown requirement ID(s) {', '.join(unknown)}")
        if wanted and not wanted.intersection(ids):
            deselected.append(item)
            continue
        kept.append(item)
        if run is not None and ids:
            base = item.nodeid.split("[")[0]
            for req_id in ids:
                tests = run.tests_by_requirement.setdefault(req_id, [])
                if base not in tests:
                    tests.append(base)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise pytest.UsageError(f"atcheck: requirement markers are wrong:\n  {shown}{more}")
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


# -- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _atcheck_recorder() -> EvidenceRecorder:
    """One recorder for the session, emptied before each test: every client records into the current test."""
    return EvidenceRecorder()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, _atcheck_recorder: EvidenceRecorder) -> Iterator[TargetUnderTest]:
    """The target under test (parametrized over the run's targets)."""
    run = _run(request.config)
    if run is None:
        pytest.skip("no atcheck run: this session does not run conformance suites")
    name = str(request.param)
    try:
        running = run.stack.start(name)
    except AtcheckError as exc:
        raise TargetDidNotStart(f"target {name} did not start: {exc}") from None
    tut = TargetUnderTest(name=name, manifest=run.targets[name], running=running, recorder=_atcheck_recorder)
    yield tut
    tut.close()


@pytest.fixture
def pds(target: TargetUnderTest) -> XrpcClient:
    """An unauthenticated XRPC client for the target's PDS."""
    return target.client(Role.PDS)


@pytest.fixture
def plc(target: TargetUnderTest) -> XrpcClient:
    """An HTTP client for the PLC directory the target uses."""
    return target.client(Role.PLC)


@pytest.fixture
def peer(request: pytest.FixtureRequest, target: TargetUnderTest) -> TargetUnderTest:
    """Another target of the run with a PDS: the second PDS of federation and migration tests.

    Both share the run's PLC, so an account can move between them. The test is skipped when the run has
    no second PDS target (e.g. ``--target reference`` alone).
    """
    run = _run(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    others = [n for n, m in run.targets.items() if n != target.name and Role.PDS in m.roles]
    if not others:
        pytest.skip("the run has no second PDS target (add one with --atcheck-target)")
    name = others[0]
    try:
        running = run.stack.start(name)
    except AtcheckError as exc:
        raise TargetDidNotStart(f"peer target {name} did not start: {exc}") from None
    return TargetUnderTest(name=name, manifest=run.targets[name], running=running, recorder=target.recorder)


@pytest.fixture
def second_pds(peer: TargetUnderTest) -> XrpcClient:
    """An unauthenticated XRPC client for the peer target's PDS."""
    return peer.client(Role.PDS)


@pytest.fixture(scope="session")
def twin(request: pytest.FixtureRequest, target: TargetUnderTest) -> TargetUnderTest:
    """A second instance of the target under test, on the run's PLC (run name ``<target>#2``).

    The other end of a move between two servers of one implementation (reference -> reference). It is
    started on first use and shared by the rest of the run; no suite runs against it.
    """
    run = _run(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    try:
        running = run.stack.start_instance(target.name)
    except AtcheckError as exc:
        raise TargetDidNotStart(f"a second instance of {target.name} did not start: {exc}") from None
    return TargetUnderTest(
        name=running.name, manifest=running.manifest, running=running, recorder=target.recorder
    )


_FACTORIES: dict[str, AccountFactory] = {}


@pytest.fixture(scope="session")
def account_factory(target: TargetUnderTest) -> Callable[[], Account]:
    """Makes fresh accounts on the target's PDS, however the target provisions them.

    Session-scoped (per target), so a module-scoped fixture may share one account among its tests.
    """
    if target.name not in _FACTORIES:
        _FACTORIES[target.name] = AccountFactory(
            target.endpoint(Role.PDS),
            target.client(Role.PDS),
            provisioning=target.manifest.provisioning,
            handle_domain=target.handle_domain,
        )
    factory = _FACTORIES[target.name]

    def make() -> Account:
        try:
            return factory()
        except AtcheckError as exc:
            raise TargetDidNotStart(f"could not get an account on {target.name}: {exc}") from None

    return make


@pytest.fixture
def account(account_factory: Callable[[], Account]) -> Account:
    """A fresh account on the target's PDS, with an authenticated client."""
    return account_factory()


# -- running: capabilities, evidence, results --------------------------------------------------------------


def _target_param(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    value = callspec.params.get("target")
    return str(value) if value is not None else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = _run(item.config)
    name = _target_param(item)
    if run is None or name is None:
        return
    manifest = run.targets[name]
    needed = [c for mark in item.iter_markers("needs") for c in mark.args]
    lacking = [c for c in needed if not manifest.supports(c)]
    if lacking:
        pytest.skip(f"target {name} does not declare {', '.join(lacking)}")
    role = _role(item)
    if role is not None and role not in {str(r) for r in manifest.roles}:
        # The service is another target's (arroba uses the reference's PLC): its verdict belongs to that
        # target's run, never charged to this one.
        pytest.skip(f"checks the {role}, which target {name} does not provide (it uses another target's)")
    failure = run.stack.failure(name)
    if failure is not None:
        raise TargetDidNotStart(f"target {name} did not start: {failure}")
    _label_for_allure(item, name)


def _label_for_allure(item: pytest.Item, target_name: str) -> None:
    try:
        import allure
    except ImportError:
        return
    try:
        dynamic: Any = allure.dynamic  # allure's API is untyped
        for req_id in _requirement_ids(item):
            dynamic.tag(req_id)
        dynamic.parameter("target", target_name)
        dynamic.parent_suite(target_name)
        dynamic.suite(Path(str(item.path)).parent.name)
    except Exception:
        return


def _outcome(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Outcome, str]:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return Outcome.SKIPPED, str(reason).removeprefix("Skipped: ")
    if report.passed:
        return Outcome.PASSED, ""
    exc = call.excinfo.value if call.excinfo is not None else None
    message = f"{type(exc).__name__}: {exc}" if exc is not None else str(report.longrepr)[:2000]
    if isinstance(exc, ConformanceFailure | TransportFailure) and report.when == "call":
        return Outcome.FAILED, str(exc)
    if isinstance(exc, AssertionError) and report.when == "call":
        return Outcome.FAILED, str(exc) or "assertion failed"
    return Outcome.ERROR, message


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    run = _run(item.config)
    name = _target_param(item)
    if run is None or name is None:
        return
    if report.when == "setup" and report.passed:
        return  # the call phase decides
    if report.when == "teardown" and (report.passed or _RESULT_KEY in item.stash):
        if report.failed and _RESULT_KEY in item.stash:
            existing = item.stash[_RESULT_KEY]
            if existing.outcome == Outcome.PASSED:
                existing.outcome = Outcome.ERROR
                existing.message = f"teardown failed: {report.longrepr}"[:2000]
        return
    result_outcome, message = _outcome(report, call)
    if result_outcome in (Outcome.FAILED, Outcome.ERROR):
        message = _with_liveness(run, name, message)
    ids = _requirement_ids(item)
    from atcheck.catalogue import load_catalogue

    levels = [load_catalogue().get(i).level for i in ids if i in load_catalogue()]
    role = _role(item)
    level = min(levels, key=lambda lv: _LEVEL_ORDER.get(lv, 9)) if levels else "MAY"
    recorder = _current_recorder(item)
    result = TestResult(
        test_id=item.nodeid.split("[")[0] + _param_suffix(item),
        target=name,
        requirement_ids=ids,
        level=level,
        outcome=result_outcome,
        message=message,
        duration_s=round(report.duration, 4),
        evidence=list(recorder.exchanges) if recorder and result_outcome != Outcome.PASSED else [],
        role=role,
    )
    if result_outcome in (Outcome.FAILED, Outcome.ERROR):
        notes = getattr(call.excinfo.value, "__notes__", []) if call.excinfo is not None else []
        _add_hypothesis_details(result, str(report.longrepr or ""), [str(n) for n in notes])
    item.stash[_RESULT_KEY] = result
    run.results.append(result)
    if report.failed and report.longrepr is not None:
        # The terminal (and so CI logs) shows longrepr: scrub the run's secrets from it as from the reports.
        report.longrepr = Redactor(run.stack.all_secrets()).text(str(report.longrepr))
    _apply_baseline(run, result, report)
    _progress(item, run, result)


def _suite_area(item: pytest.Item) -> str:
    try:
        return Path(str(item.path)).resolve().relative_to(suites_dir().resolve()).parts[0]
    except (ValueError, AtcheckError, IndexError):
        return Path(str(item.path)).parent.name


def _progress(item: pytest.Item, run: Run, result: TestResult) -> None:
    """One line per (target, suite) when it completes: the progress a person or a CI log can follow."""
    group = (result.target, _suite_area(item))
    if run.progress_group != group:
        _flush_progress(item.config, run)
        run.progress_group = group
        run.progress_counts = {}
    run.progress_counts[result.outcome.value] = run.progress_counts.get(result.outcome.value, 0) + 1


def _flush_progress(config: pytest.Config, run: Run) -> None:
    if run.progress_group is None or not run.progress_counts:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    target, area = run.progress_group
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(run.progress_counts.items()))
    writer = getattr(reporter, "_tw", None)  # pytest's progress dots do not end their line
    if writer is not None and getattr(writer, "width_of_current_line", False):
        reporter.write("\n")
    reporter.write_line(f"[{target}] {area}: {counts}")
    run.progress_counts = {}


def _apply_baseline(run: Run, result: TestResult, report: pytest.TestReport) -> None:
    """Known failures become xfail for pytest (the report keeps them failed); a fixed one fails loudly."""
    failing = result.outcome in (Outcome.FAILED, Outcome.ERROR)
    expected = run.baseline.expected(result.target, result.test_id, result.message if failing else None)
    if expected is None:
        refusal = run.baseline.refusal(result.target, result.test_id, result.message) if failing else None
        if refusal is not None:  # the baseline knows this test, but not this failure: say so where it is read
            result.message = f"{result.message}\n(new failure: {refusal})"
        return
    if failing:
        result.known_failure = expected.reason
        report.outcome = "skipped"
        report.wasxfail = f"known failure ({run.baseline.source}): {expected.reason}"
    elif result.outcome == Outcome.PASSED and expected.strict:
        report.outcome = "failed"
        report.longrepr = (
            f"{result.test_id} on {result.target} passes, but {run.baseline.source} expects it to fail "
            f"({expected.reason}); remove that entry"
        )


_REPRODUCE = re.compile(r"@reproduce_failure\((['\"][^'\"]+['\"], b['\"][A-Za-z0-9+/=]+['\"])\)")


def _add_hypothesis_details(result: TestResult, longrepr: str, notes: list[str]) -> None:
    """For a property-based test: how to reproduce it (the seed) and the (shrunk) example, in the report.

    Hypothesis attaches both to the exception as PEP 678 notes: the failing case and each labelled draw, then
    a ``@reproduce_failure(...)`` line.
    """
    blob = _REPRODUCE.search("\n".join([longrepr, *notes]))
    if blob:
        result.seed = f"@reproduce_failure({blob.group(1)})"
    example = [n.strip() for n in notes if n.strip().startswith(("Falsifying", "Failing test case", "Draw "))]
    if example:
        result.message += "\n" + "\n".join(example)[:2000]


def _param_suffix(item: pytest.Item) -> str:
    """Parameters other than the target stay in the test ID (``[case-3]``), so results do not collide."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return ""
    rest = str(callspec.id)
    target_name = _target_param(item) or ""
    if rest == target_name:
        return ""
    if rest.startswith(target_name + "-"):
        rest = rest[len(target_name) + 1 :]
    elif rest.endswith("-" + target_name):
        rest = rest[: -len(target_name) - 1]
    return f"[{rest}]"


def _current_recorder(item: pytest.Item) -> EvidenceRecorder | None:
    fixture_info = getattr(item, "funcargs", {})
    target_obj = fixture_info.get("target")
    if isinstance(target_obj, TargetUnderTest):
        return target_obj.recorder
    return None


@pytest.fixture(autouse=True)
def _atcheck_fresh_evidence(request: pytest.FixtureRequest) -> None:
    """Empty the session recorder before each target test, so evidence belongs to the test that made it."""
    if "target" in request.fixturenames:
        recorder: EvidenceRecorder = request.getfixturevalue("_atcheck_recorder")
        recorder.clear()


def _with_liveness(run: Run, name: str, message: str) -> str:
    """If a service of the target died, say so: the failure is the crash, not the check that noticed it."""
    dead = [s for s in run.stack.running_services() if not s.alive()]
    if not dead:
        return message
    summaries = "; ".join(f"{s.spec.name}: {s.exit_summary()}" for s in dead)
    return f"{message} [a service of the run is no longer running: {summaries}]"


# -- end of session: stop everything, write the reports ----------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if run is None:
        return
    _flush_progress(session.config, run)
    try:
        run.close()
    finally:
        _FACTORIES.clear()
    _write_reports(session.config, run)


def _write_reports(config: pytest.Config, run: Run) -> None:
    from atcheck.report.writer import write_reports

    report = run.build_report()
    latest = run.report_dir.parent / "latest" if not config.getoption("--atcheck-report-dir") else None
    written = write_reports(report, run.report_dir, secrets=run.stack.all_secrets(), latest_link=latest)
    config.stash[_WRITTEN_KEY] = (report, written)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """allure-pytest writes failure messages verbatim: scrub the run's secrets from its files last of all."""
    run = _run(config)
    if run is None:
        return
    run.close()
    allure_dir = getattr(config.option, "allure_report_dir", None)
    if not allure_dir or not Path(allure_dir).is_dir():
        return
    redactor = Redactor(run.stack.all_secrets())
    for path in Path(allure_dir).iterdir():
        if path.is_file() and path.suffix in (".json", ".txt"):
            text = path.read_text(encoding="utf-8", errors="replace")
            scrubbed = redactor.text(text)
            if scrubbed != text:
                path.write_text(scrubbed, encoding="utf-8")


_WRITTEN_KEY = pytest.StashKey[tuple[Any, dict[str, Path]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    if run is None:
        return
    tr = terminalreporter
    tr.section("atcheck")
    for name in run.targets:
        counts: dict[str, int] = {}
        for result in run.results:
            if result.target == name:
                counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
        failure = run.stack.failure(name)
        line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no results"
        started = run.stack.start_times.get(name)
        start_note = f" (started in {started:.1f} s)" if started is not None else ""
        tr.write_line(f"{name}{start_note}: {line}" + (f" -- did not start: {failure}" if failure else ""))
    written = config.stash.get(_WRITTEN_KEY, None)
    if written is not None:
        report, files = written
        from atcheck.report.defects import headline

        verdict = headline(report)  # distinct failures, new and known: the same sentence as summary.md
        tr.write_line(f"{verdict}; reports in {run.report_dir}")
        for kind, path in sorted(files.items()):
            tr.write_line(f"  {kind}: {path}")
