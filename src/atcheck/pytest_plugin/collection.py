"""Collection: every suite test names catalogued requirements, and runs once per target of the run.

An unknown requirement ID, or a test under ``suites/`` that names none, fails collection: a report that
counted such a test would be quietly wrong. ``--atcheck-requirement`` narrows a session to some IDs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atcheck.catalogue import load_catalogue
from atcheck.errors import AtcheckError
from atcheck.paths import suites_dir
from atcheck.pytest_plugin.configure import wanted_requirements
from atcheck.pytest_plugin.peers import marker_problem
from atcheck.pytest_plugin.state import requirement_ids, run_of, target_param
from atcheck.run import Run
from atcheck.shard import Group, assign, groups_of
from atcheck.targets.model import Role

_SHOWN_PROBLEMS = 20


def in_suites(item: pytest.Item) -> bool:
    """Whether a test is a conformance test (it lives under ``suites/``)."""
    try:
        suites = suites_dir().resolve()
    except AtcheckError:
        return False
    return suites in Path(str(item.path)).resolve().parents


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    run = run_of(metafunc.config)
    names = _targets_for(metafunc.definition, run) if run is not None else []
    # Session scope groups the tests of one target together, so each target starts once and early ones stop
    # being needed sooner; an empty list makes pytest skip the test with "got empty parameter set".
    metafunc.parametrize("target", names, indirect=True, scope="session", ids=names)


def _targets_for(definition: pytest.Item, run: Run) -> list[str]:
    """The run's targets a test runs against: a library's tests (role ``lib``) only against library targets,
    and a library target only those, since it has no service for any other test to reach; every other test
    against every other target (which skip by role or capability as before, with the reason)."""
    marked = next((str(m.args[0]) for m in definition.iter_markers("role") if m.args), None)
    for_libraries = marked == Role.LIB.value
    return [
        name for name, spec in run.targets.items() if (spec.manifest.roles == (Role.LIB,)) is for_libraries
    ]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move ``@pytest.mark.together`` (and ``late``) tests to the end of the session, each test's targets
    side by side.

    Runs after every reordering of collection (pytest groups tests by target there), so the instances of
    such a test follow one another: the first observes all targets at once (``sibling_targets``) and the
    others find their verdict ready, and by then no other test is left to write to any target.
    """
    together = [i for i in session.items if _runs_last(i)]
    if not together:
        return
    moved = {id(i) for i in together}
    order = {id(i): n for n, i in enumerate(session.items)}
    rest = [i for i in session.items if id(i) not in moved]
    # Stable: by test (its first position), then in run order of the targets.
    first: dict[str, int] = {}
    for item in together:
        first.setdefault(_test_key(item), order[id(item)])
    together.sort(key=lambda i: (first[_test_key(i)], order[id(i)]))
    session.items[:] = rest + together


def _runs_last(item: pytest.Item) -> bool:
    """``together`` tests, and ``late`` ones: they judge something that takes time to show (a DPoP nonce's
    rotation), so the run's own length pays for the wait."""
    return any(item.get_closest_marker(m) is not None for m in ("together", "late"))


def _test_key(item: pytest.Item) -> str:
    """A test item's id without its target parameter: the same for every target's instance."""
    return f"{item.path}::{getattr(item, 'originalname', item.name)}"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = run_of(config)
    if run is None and not any(requirement_ids(i) or in_suites(i) for i in items):
        return  # plain self-tests of the harness: nothing to check against the catalogue
    try:
        catalogue = load_catalogue()
    except AtcheckError as exc:
        raise pytest.UsageError(f"atcheck: {exc}") from None
    wanted = wanted_requirements(config)
    unknown_wanted = sorted(i for i in wanted if i not in catalogue)
    if unknown_wanted:
        raise pytest.UsageError(f"atcheck: unknown requirement ID(s) {', '.join(unknown_wanted)}")
    problems: list[str] = []
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        ids = requirement_ids(item)
        if in_suites(item) and not ids:
            problems.append(f"{item.nodeid}: a conformance test must name its requirement(s)")
        unknown = [i for i in ids if i not in catalogue]
        if unknown:
            problems.append(f"{item.nodeid}: unknown requirement ID(s) {', '.join(unknown)}")
        interop_problem = marker_problem(item)
        if interop_problem:
            problems.append(f"{item.nodeid}: {interop_problem}")
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
        shown = "\n  ".join(problems[:_SHOWN_PROBLEMS])
        rest = len(problems) - _SHOWN_PROBLEMS
        more = f"\n  ... and {rest} more" if rest > 0 else ""
        raise pytest.UsageError(f"atcheck: test markers are wrong:\n  {shown}{more}")
    if run is not None and run.shard is not None:
        kept = _this_shard(run, kept, deselected)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def shard_group(item: pytest.Item) -> Group:
    """The (target, suite area) group a test item belongs to, the unit :mod:`atcheck.shard` deals."""
    try:
        relative = Path(str(item.path)).resolve().relative_to(suites_dir().resolve())
        area = relative.parts[0] if len(relative.parts) > 1 else ""
    except (AtcheckError, ValueError):
        area = ""
    return (target_param(item) or "", area)


def _this_shard(run: Run, items: list[pytest.Item], deselected: list[pytest.Item]) -> list[pytest.Item]:
    """The items of the run's shard; the others are appended to ``deselected``."""
    assert run.shard is not None
    keys = [shard_group(item) for item in items]
    owner = assign(groups_of(keys), run.shard.total)
    mine = sorted({k for k in keys if owner[k] == run.shard.index})
    run.shard_groups = [f"{target or '-'}/{area or '-'}" for target, area in mine]
    kept: list[pytest.Item] = []
    for item, key in zip(items, keys, strict=True):
        (kept if owner[key] == run.shard.index else deselected).append(item)
    return kept
