"""The fixtures suites use: the target under test, clients by role, peers, a relay's upstreams, accounts.

Each target starts lazily, on the first test that needs it, through the run's stack; a target that cannot
start makes every test of it an error with the reason (:class:`TargetDidNotStart`), never a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from atcheck.accounts import Account, AccountFactory
from atcheck.errors import AtcheckError
from atcheck.pytest_plugin.state import FACTORIES_KEY, TARGETS_KEY, run_of
from atcheck.run import Run
from atcheck.suite.target import HelperService, ShortWindowPds, TargetDidNotStart, TargetUnderTest
from atcheck.suite.upstreams import RelayOverTwins, Upstream
from atcheck.targets.model import Role
from atcheck.xrpc.client import EvidenceRecorder, XrpcClient


def _start(run: Run, name: str, recorder: EvidenceRecorder, what: str = "target") -> TargetUnderTest:
    try:
        running = run.stack.start(name)
    except AtcheckError as exc:
        raise TargetDidNotStart(f"{what} {name} did not start: {exc}") from None
    return TargetUnderTest(name=name, manifest=run.targets[name].manifest, running=running, recorder=recorder)


@pytest.fixture(scope="session")
def _atcheck_recorder() -> EvidenceRecorder:
    """One recorder for the session, emptied before each test: every client records into the current test."""
    return EvidenceRecorder()


@pytest.fixture(autouse=True)
def _atcheck_fresh_evidence(request: pytest.FixtureRequest) -> None:
    """Empty the session recorder before each target test, so evidence belongs to the test that made it."""
    if "target" in request.fixturenames:
        recorder: EvidenceRecorder = request.getfixturevalue("_atcheck_recorder")
        recorder.clear()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, _atcheck_recorder: EvidenceRecorder) -> TargetUnderTest:
    """The target under test (parametrized over the run's targets).

    One :class:`TargetUnderTest` per target and session, closed when the session ends: pytest sets this
    fixture up again when tests come back to a target (``@pytest.mark.together`` tests run last), and the
    account factories made for it keep using its clients.
    """
    run = run_of(request.config)
    if run is None:
        pytest.skip("no atcheck run: this session does not run conformance suites")
    made = request.config.stash.setdefault(TARGETS_KEY, {})
    name = str(request.param)
    if name not in made:
        made[name] = _start(run, name, _atcheck_recorder)
        request.config.add_cleanup(made[name].close)
    return made[name]


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

    Both share the run's PLC, so an account can move between them: only a target started by the same
    launcher qualifies (a container target gets the PLC of the run's container network, not the process
    one). The test is skipped when the run has no such second PDS target (e.g. ``--target reference`` alone).
    """
    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    launcher = run.targets[target.name].launcher
    others = [
        n
        for n, t in run.targets.items()
        if n != target.name and Role.PDS in t.manifest.roles and t.launcher == launcher
    ]
    if not others:
        pytest.skip(
            f"the run has no second PDS target under the {launcher} launcher (add one with --atcheck-target)"
        )
    return _start(run, others[0], target.recorder, "peer target")


@pytest.fixture(scope="session")
def upstreams(request: pytest.FixtureRequest, target: TargetUnderTest) -> list[Upstream]:
    """The run's PDS targets that the target under test (a relay) follows, each with an account factory.

    Session-scoped (per target), so a module-scoped scene may use it. The test is skipped when the target
    follows no PDS (it is not a relay, or the run has no PDS target).
    """
    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    followed = [e.url for e in target.running.needs_all.get(Role.PDS, [])]
    if not followed:
        pytest.skip(f"target {target.name} follows no PDS (a relay does, when the run has a PDS target)")
    found: list[Upstream] = []
    for name, spec in run.targets.items():
        if name == target.name or Role.PDS not in spec.manifest.roles:
            continue
        try:
            running = run.stack.start(name)  # its PDS runs already (the relay was given it); this is the rest
        except AtcheckError:
            continue  # reported by that target's own tests; the relay did not get it either
        endpoint = running.endpoint(Role.PDS)
        if endpoint is None or endpoint.url not in followed:
            continue
        peer_target = TargetUnderTest(
            name=name, manifest=spec.manifest, running=running, recorder=target.recorder
        )
        factory = AccountFactory(
            endpoint,
            peer_target.client(Role.PDS),
            provisioning=spec.manifest.provisioning,
            handle_domain=spec.manifest.handle_domain,
        )
        found.append(Upstream(target=peer_target, new_account=_provisioning(name, factory)))
    return found


@pytest.fixture(scope="session")
def relay_over_twins(
    request: pytest.FixtureRequest, target: TargetUnderTest, upstreams: list[Upstream]
) -> RelayOverTwins:
    """A relay of the target's kind following a PDS target and its second instance (``<pds>#2``).

    For a relay's account-migration test: the account moves between the two instances, and the relay must
    follow it. The first followed PDS target that can create accounts on the run's PLC is used. When the
    relay under test was not started with the second instance (relays follow only the PDSes that exist when
    they start), a second instance of the relay is started after it (``<relay>#2``), on the same run. The
    test is skipped when no followed PDS can take part.
    """
    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    movable = [
        u for u in upstreams if u.target.supports("account.create") and u.target.supports("identity.plc")
    ]
    if not movable:
        pytest.skip(f"{target.name} follows no PDS that can create accounts on the run's PLC")
    source = movable[0]
    try:
        twin_running = run.stack.start_instance(source.name)
        twin_url = twin_running.endpoint(Role.PDS)
        followed = [e.url for e in target.running.needs_all.get(Role.PDS, [])]
        relay = target
        if twin_url is None or twin_url.url not in followed:
            relay_running = run.stack.start_instance(target.name)
            relay = TargetUnderTest(
                name=relay_running.name,
                manifest=relay_running.manifest,
                running=relay_running,
                recorder=target.recorder,
            )
    except AtcheckError as exc:
        raise TargetDidNotStart(
            f"a second instance for the relay's migration scene did not start: {exc}"
        ) from None
    twin = TargetUnderTest(
        name=twin_running.name, manifest=twin_running.manifest, running=twin_running, recorder=target.recorder
    )
    return RelayOverTwins(relay=relay, source=source, dest=twin)


@pytest.fixture
def sibling_targets(request: pytest.FixtureRequest, target: TargetUnderTest) -> list[Upstream]:
    """Every target this same test runs against in this session, the target under test first, each started
    and with an account factory.

    For a test that observes all targets at once rather than one after another (mark it
    ``@pytest.mark.together``; the firehose's 60 s idle window): a target is included only when the
    test's instance for it is collected, would not be skipped, and its target started.
    """
    from atcheck.pytest_plugin.collection import _test_key
    from atcheck.pytest_plugin.results import skip_reason
    from atcheck.pytest_plugin.state import target_param

    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    key = _test_key(request.node)
    names: list[str] = []
    for item in request.session.items:
        name = target_param(item)
        if name is None or name in names or _test_key(item) != key or skip_reason(item) is not None:
            continue
        names.append(name)
    found = [Upstream(target=target, new_account=request.getfixturevalue("account_factory"))]
    for name in names:
        if name == target.name or run.stack.failure(name) is not None:
            continue
        spec = run.targets[name]
        try:
            sibling = _start(run, name, target.recorder, "sibling target")
        except TargetDidNotStart:
            continue  # reported by that target's own instance of the test
        factories = request.config.stash.setdefault(FACTORIES_KEY, {})
        if name not in factories:
            factories[name] = AccountFactory(
                sibling.endpoint(Role.PDS),
                sibling.client(Role.PDS),
                provisioning=spec.manifest.provisioning,
                handle_domain=sibling.handle_domain,
            )
        found.append(Upstream(target=sibling, new_account=_provisioning(name, factories[name])))
    return found


def _provisioning(name: str, factory: AccountFactory) -> Callable[[], Account]:
    """``factory``, with a failure to provision as a setup error of the test, not a conformance failure."""

    def make() -> Account:
        try:
            return factory()
        except AtcheckError as exc:
            raise TargetDidNotStart(f"could not get an account on {name}: {exc}") from None

    return make


#: The instance number of the short-window PDS (``<target>#3``): ``#2`` is the twin of migrations.
SHORT_WINDOW_INSTANCE = 3


@pytest.fixture(scope="session")
def helper_service(request: pytest.FixtureRequest, target: TargetUnderTest) -> HelperService:
    """``helper_service(role)``: the reference's ``role`` service, for a target that has none of its own but
    whose routines read from one (a library's Lexicon resolver fetches records from a PDS). Started on first
    use, stopped with the run; raises the launch error, for the caller to skip with (``Stack.helper``)."""
    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    stack = run.stack
    return lambda role: stack.helper(role, target.name)


@pytest.fixture(scope="module")
def short_window_pds(request: pytest.FixtureRequest, target: TargetUnderTest) -> Iterator[ShortWindowPds]:
    """A separate instance of the target's PDS with the short replay window its manifest declares
    (``short_window``), on the run's PLC; skipped when the manifest declares none. Stopped after the module.
    """
    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    service = target.manifest.provider(Role.PDS)
    window = service.short_window if service is not None else None
    if window is None:
        pytest.skip(
            f"target {target.name} declares no short_window (how to start a PDS whose replay window is short)"
        )
    try:
        running = run.stack.start_instance(target.name, SHORT_WINDOW_INSTANCE, env=window.env, private=True)
    except AtcheckError as exc:
        raise TargetDidNotStart(f"a short-window instance of {target.name} did not start: {exc}") from None
    instance = TargetUnderTest(
        name=running.name, manifest=running.manifest, running=running, recorder=target.recorder
    )
    try:
        endpoint = instance.endpoint(Role.PDS)
        factory = AccountFactory(
            endpoint,
            instance.client(Role.PDS),
            provisioning=running.manifest.provisioning,
            handle_domain=running.manifest.handle_domain,
        )
        yield ShortWindowPds(instance, window.seconds, window.events, _provisioning(running.name, factory))
    finally:
        instance.close()
        run.stack.stop_instance(running.name)


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
    run = run_of(request.config)
    assert run is not None  # the target fixture already skipped otherwise
    try:
        running = run.stack.start_instance(target.name)
    except AtcheckError as exc:
        raise TargetDidNotStart(f"a second instance of {target.name} did not start: {exc}") from None
    return TargetUnderTest(
        name=running.name, manifest=running.manifest, running=running, recorder=target.recorder
    )


@pytest.fixture(scope="session")
def account_factory(request: pytest.FixtureRequest, target: TargetUnderTest) -> Callable[[], Account]:
    """Makes fresh accounts on the target's PDS, however the target provisions them.

    Session-scoped (per target), so a module-scoped fixture may share one account among its tests.
    """
    factories = request.config.stash.setdefault(FACTORIES_KEY, {})
    if target.name not in factories:
        factories[target.name] = AccountFactory(
            target.endpoint(Role.PDS),
            target.client(Role.PDS),
            provisioning=target.manifest.provisioning,
            handle_domain=target.handle_domain,
        )
    factory = factories[target.name]

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
