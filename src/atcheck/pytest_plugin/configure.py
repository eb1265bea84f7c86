"""The ``--atcheck-*`` options, and the run a session creates from them (or from ``atcheck run``'s object).

A session runs conformance suites, and so creates a :class:`~atcheck.run.Run` and writes a report, when
``atcheck run`` handed it a :class:`~atcheck.run_options.RunHandoff`, or when it was given a report dir or
collects from ``suites/``. Harness self-tests that merely load the plugin get no run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atcheck.baseline import load_baseline
from atcheck.errors import AtcheckError
from atcheck.paths import reports_dir, suites_dir
from atcheck.pytest_plugin.allure_output import use_run_dir
from atcheck.pytest_plugin.state import OPTIONS_KEY, RUN_KEY, handoff_of, run_of
from atcheck.run import Run
from atcheck.run_options import RunOptions, credentials_from
from atcheck.shard import parse_shard
from atcheck.targets.spec import parse_targets


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("atcheck", "atcheck conformance runs")
    group.addoption(
        "--atcheck-target",
        action="append",
        default=[],
        metavar="NAME|MANIFEST.toml|URL",
        help="a target to check (repeatable); default: $ATCHECK_TARGETS or the default targets",
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
        "--atcheck-shard",
        default=None,
        metavar="I/N",
        help="run only shard I of N: (target, suite) groups dealt deterministically (atcheck report merge)",
    )
    group.addoption(
        "--atcheck-no-report",
        action="store_true",
        default=False,
        help="do not write the compliance report (self-tests of the harness)",
    )


def runs_suites(config: pytest.Config) -> bool:
    """Whether a bare pytest session runs conformance suites (and so writes a report)."""
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


def options_from_pytest(config: pytest.Config) -> RunOptions:
    """A bare pytest session's run options: its ``--atcheck-*`` flags and the ``ATCHECK_*`` variables."""
    specs = list(config.getoption("--atcheck-target"))
    if not specs and os.environ.get("ATCHECK_TARGETS"):
        specs = [s.strip() for s in os.environ["ATCHECK_TARGETS"].split(",") if s.strip()]
    report_dir = config.getoption("--atcheck-report-dir")
    baseline = config.getoption("--atcheck-baseline")
    shard = config.getoption("--atcheck-shard")
    return RunOptions(
        targets=tuple(parse_targets(specs, credentials=credentials_from(os.environ)).values()),
        requirements=tuple(config.getoption("--atcheck-requirement")),
        report_dir=Path(report_dir) if report_dir else None,
        baseline=Path(baseline) if baseline else None,
        shard=parse_shard(shard) if shard else None,
    )


def wanted_requirements(config: pytest.Config) -> set[str]:
    """The requirement IDs a session is narrowed to (none: every test)."""
    options = config.stash.get(OPTIONS_KEY, None)
    if options is not None:
        return set(options.requirements)
    return set(config.getoption("--atcheck-requirement"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): catalogue IDs of the requirements a test checks")
    config.addinivalue_line(
        "markers",
        "role(name): the service role a test checks (pds, plc, ...), charged with its failures; "
        "by default the one role its requirements' applies_to name",
    )
    config.addinivalue_line("markers", "needs(*capabilities): capabilities a target must declare")
    config.addinivalue_line(
        "markers",
        "together: the test's instances for all targets run one after another at the end of the session, "
        "so the first can observe every target at once (fixture sibling_targets)",
    )
    config.addinivalue_line(
        "markers",
        "late: the test runs at the end of the session, after every other test (it judges something that "
        "takes time to show, and the run's own length pays for the wait)",
    )
    config.addinivalue_line(
        "markers",
        "interop(scenario, producer=FIXTURE, consumer=FIXTURE): the direction of a test between two "
        "implementations, for the report's interop matrix (e.g. producer='target', consumer='twin')",
    )
    if hasattr(config, "workerinput"):
        return
    handoff = handoff_of(config)
    if handoff is None and not runs_suites(config):
        return
    try:
        options = handoff.options if handoff is not None else options_from_pytest(config)
        run = Run.create(options.targets, options.report_dir, reports_dir())
    except AtcheckError as exc:
        raise pytest.UsageError(f"atcheck: {exc}") from None
    if options.baseline is not None:
        try:
            run.baseline = load_baseline(options.baseline)
        except AtcheckError as exc:
            run.close()
            raise pytest.UsageError(f"atcheck: {exc}") from None
    run.shard = options.shard
    config.stash[RUN_KEY] = run
    config.stash[OPTIONS_KEY] = options
    use_run_dir(config, run)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = run_of(config)
    if run is None:
        return []
    names = ", ".join(run.targets)
    return [f"atcheck run {run.run_id}: targets {names}; report -> {run.report_dir}"]
