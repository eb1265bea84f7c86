"""atcheck's pytest plugin: targets as parameters, requirements as markers, results as a compliance report.

In the spirit of Complement and Bowtie, a suite test is written once, against roles (a PDS, its PLC), and runs
once per target of the run. The plugin is this package's modules, each one job:

- :mod:`.configure`: the ``--atcheck-*`` options, and the :class:`~atcheck.run.Run` a session creates from
  them, or from the :class:`~atcheck.run_options.RunOptions` that ``atcheck run`` hands it;
- :mod:`.collection`: ``@pytest.mark.requirement`` IDs checked against the catalogue (an unknown ID, or a
  suite test without one, fails collection), every target test parametrized over the run's targets, and
  ``@pytest.mark.together`` and ``@pytest.mark.late`` tests moved to the end of the session;
- :mod:`.fixtures`: ``target``, ``pds``, ``plc``, ``peer``, ``twin``, ``upstreams``, ``relay_over_twins``,
  ``sibling_targets``, ``account``..., each started lazily;
- :mod:`.draws`: a derandomized property test draws the same examples however the session started;
- :mod:`.results` and :mod:`.outcomes`: one result per (test, target) with its evidence, capabilities a
  target lacks skipped, the baseline applied;
- :mod:`.terminal`: progress lines and the closing summary;
- :mod:`.reports`: every process stopped and the reports written, on success, failure and Ctrl-C alike;
- :mod:`.allure_output`: allure-pytest's results beside ours, labelled, scrubbed of secrets.

pytest loads this package through the ``pytest11`` entry point ``atcheck.pytest_plugin``; the names below are
what it registers (hooks and fixtures are found as attributes of the plugin module).
"""

from atcheck.pytest_plugin.allure_output import pytest_unconfigure
from atcheck.pytest_plugin.collection import (
    pytest_collection_finish,
    pytest_collection_modifyitems,
    pytest_generate_tests,
)
from atcheck.pytest_plugin.configure import pytest_addoption, pytest_configure, pytest_report_header
from atcheck.pytest_plugin.draws import pytest_runtest_call
from atcheck.pytest_plugin.fixtures import (
    _atcheck_fresh_evidence,
    _atcheck_recorder,
    account,
    account_factory,
    helper_service,
    pds,
    peer,
    plc,
    relay_over_twins,
    second_pds,
    short_window_pds,
    sibling_targets,
    target,
    twin,
    upstreams,
)
from atcheck.pytest_plugin.reports import pytest_sessionfinish
from atcheck.pytest_plugin.results import pytest_runtest_makereport, pytest_runtest_setup
from atcheck.pytest_plugin.state import run_of
from atcheck.pytest_plugin.terminal import pytest_terminal_summary

__all__ = [
    "_atcheck_fresh_evidence",
    "_atcheck_recorder",
    "account",
    "account_factory",
    "helper_service",
    "pds",
    "peer",
    "plc",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "relay_over_twins",
    "run_of",
    "second_pds",
    "short_window_pds",
    "sibling_targets",
    "target",
    "twin",
    "upstreams",
]
