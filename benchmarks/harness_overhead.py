"""What the harness adds to a black-box check, against the raw request time (goal: at most 1.3x).

One check here is the commonest shape in the suites: ``describeServer``, answer checked for 200 and against
its Lexicon output schema. Against one reference PDS (started through the run's own Stack), five figures,
each a mean per check, measured in rounds (every kind once per round) and the best round of each kept:

- **raw**: the request alone, through a plain ``httpx.Client`` (keep-alive, no checks);
- **check**: the same request through atcheck's XRPC client (evidence recorded) plus ``expect_ok`` and
  ``expect_valid`` with the Lexicon schema: what a suite test body costs;
- **session**: a whole conformance test under pytest and the atcheck plugin (setup, markers, the check,
  result and evidence recording, progress, teardown), in a session of ``--tests`` tests against the same
  server (a URL target): a conftest hook notes when each test's protocol ends, and the figure is the span
  from the first test's end to the last one's over the tests between. The session's fixed costs (start-up,
  collection, report writing) are left out: they do not grow with one more check.
- **session, allure off**: the same with allure-pytest disabled (``-p no:allure_pytest``), which writes a
  result file per test beside atcheck's reports: its share of the overhead;
- **bare pytest**: the same per-test span with the atcheck plugin disabled (``-p no:atcheck``), a plain
  ``httpx`` request per test and no checks: what pytest itself costs per test, for scale.

The goal's ratio is session/raw; check/raw, bare/raw and allure-off/raw show where the rest goes.
Wall-clock figures on a loaded machine are noisy; the load average is printed with them.

    .venv/bin/python benchmarks/harness_overhead.py [--requests 1000] [--tests 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from _stack import started

from atcheck.errors import AtcheckError
from atcheck.suite import XrpcClient, expect_ok, expect_valid, lexicon_schema
from atcheck.targets.model import Role

ROOT = Path(__file__).resolve().parents[1]
NSID = "com.atproto.server.describeServer"

SUITE = textwrap.dedent(
    f"""
    import os

    import pytest

    from atcheck.suite import expect_ok, expect_valid, lexicon_schema

    @pytest.mark.requirement("ACCT-16")
    @pytest.mark.parametrize("i", range(int(os.environ["OVERHEAD_TESTS"])))
    def test_describe(pds, i):
        resp = pds.query("{NSID}")
        expect_valid(expect_ok(resp), lexicon_schema("{NSID}", "output"), "the output", resp)
    """
)


BARE_SUITE = textwrap.dedent(
    f"""
    import os

    import httpx
    import pytest

    @pytest.fixture(scope="session")
    def http():
        with httpx.Client(timeout=30, trust_env=False) as client:
            yield client

    @pytest.mark.parametrize("i", range(int(os.environ["OVERHEAD_TESTS"])))
    def test_describe(http, i):
        assert http.get(os.environ["OVERHEAD_URL"] + "/xrpc/{NSID}").status_code == 200
    """
)


#: Written beside each session's tests: the end of every test's protocol, for the per-test span.
TIMING_CONFTEST = textwrap.dedent(
    """
    import os
    import time

    import pytest

    _ENDS = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        yield
        _ENDS.append(time.perf_counter())

    def pytest_sessionfinish(session):
        with open(os.environ["OVERHEAD_OUT"], "w") as out:
            out.write(" ".join(map(repr, _ENDS)))
    """
)


def raw_times(url: str, n: int) -> list[float]:
    times = []
    with httpx.Client(timeout=30, trust_env=False) as client:
        client.get(f"{url}/xrpc/{NSID}")  # connect once
        for _ in range(n):
            began = time.perf_counter()
            resp = client.get(f"{url}/xrpc/{NSID}")
            resp.json()
            times.append(time.perf_counter() - began)
    return times


def check_times(url: str, n: int) -> list[float]:
    schema = lexicon_schema(NSID, "output")
    client = XrpcClient(url)
    times = []
    try:
        client.query(NSID)
        for _ in range(n):
            began = time.perf_counter()
            resp = client.query(NSID)
            expect_valid(expect_ok(resp), schema, "the output", resp)
            times.append(time.perf_counter() - began)
    finally:
        client.close()
    return times


def session_per_test(
    url: str, tests: int, folder: Path, *, bare: bool = False, extra: tuple[str, ...] = ()
) -> float:
    """Seconds per test inside one session: from the first test's end to the last one's, per test between."""
    (folder / "test_overhead.py").write_text(BARE_SUITE if bare else SUITE, encoding="utf-8")
    (folder / "conftest.py").write_text(TIMING_CONFTEST, encoding="utf-8")
    ends_file = folder / "ends.txt"
    env = {
        **os.environ,
        "OVERHEAD_TESTS": str(tests),
        "OVERHEAD_URL": url,
        "OVERHEAD_OUT": str(ends_file),
        "ATCHECK_HOME": str(ROOT),
    }
    env.pop("ATCHECK_TARGETS", None)
    if bare:
        options = ["-p", "no:atcheck", "-p", "no:allure_pytest"]
    else:
        options = ["--atcheck-target", url, "--atcheck-report-dir", str(folder / "report"), *extra]
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(folder / "test_overhead.py"), "-q", "-p", "no:cacheprovider",
            "--rootdir", str(folder), *options, "-W", "ignore::pytest.PytestAssertRewriteWarning",
        ],
        capture_output=True, text=True, env=env, cwd=folder, timeout=1800, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the session failed ({done.returncode}): {(done.stdout + done.stderr)[-800:]}")
    ends = [float(x) for x in ends_file.read_text(encoding="utf-8").split()]
    if len(ends) != tests:
        raise RuntimeError(f"the session ran {len(ends)} tests, not {tests}")
    return (ends[-1] - ends[0]) / (len(ends) - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="harness overhead per black-box check")
    parser.add_argument("--requests", type=int, default=1000, help="requests for the raw and check figures")
    parser.add_argument("--tests", type=int, default=300, help="tests per session (at least 2)")
    parser.add_argument("--repeat", type=int, default=3, help="sessions of each kind; the best is used")
    args = parser.parse_args(argv)
    try:
        with started(["reference"]) as (_stack, running):
            url = running["reference"].endpoints[Role.PDS].url
            # Every kind once per round, rounds repeated, the best round of each kind kept: drift in the
            # machine's load hits every kind alike, and each figure is its least disturbed measurement.
            rounds = []
            with tempfile.TemporaryDirectory(prefix="atcheck-overhead-") as tmp:
                for _ in range(max(1, args.repeat)):
                    rounds.append(
                        (
                            statistics.fmean(raw_times(url, args.requests)),
                            statistics.fmean(check_times(url, args.requests)),
                            session_per_test(url, args.tests, Path(tmp)),
                            session_per_test(url, args.tests, Path(tmp), bare=True),
                            session_per_test(url, args.tests, Path(tmp), extra=("-p", "no:allure_pytest")),
                        )
                    )
    except (AtcheckError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"harness_overhead: {exc}", file=sys.stderr)
        return 2
    raw_mean, check_mean, per_test, bare_per_test, no_allure_per_test = (
        min(k) for k in zip(*rounds, strict=True)
    )
    print(f"load average:    {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    shape = f"best of {len(rounds)} rounds: {args.requests} requests, sessions of {args.tests} tests"
    print(f"mean per check, {shape}")
    print(f"raw request:     {raw_mean * 1e3:6.2f} ms")
    print(f"check (client+checks): {check_mean * 1e3:6.2f} ms")
    print(f"session per test: {per_test * 1e3:6.2f} ms")
    print(f"session per test, allure-pytest off: {no_allure_per_test * 1e3:6.2f} ms")
    print(f"bare pytest per test: {bare_per_test * 1e3:6.2f} ms  (plugin disabled, raw request, no checks)")
    print(f"ratio check/raw:   {check_mean / raw_mean:5.2f}x")
    print(f"ratio bare/raw:    {bare_per_test / raw_mean:5.2f}x")
    print(f"ratio session (allure-pytest off)/raw: {no_allure_per_test / raw_mean:5.2f}x")
    verdict = "met" if per_test / raw_mean <= 1.3 else "NOT met"
    print(f"ratio session/raw: {per_test / raw_mean:5.2f}x  (goal <= 1.3x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
