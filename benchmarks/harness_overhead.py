"""What the harness adds to a black-box check, against the raw request time (goal: at most 1.3x).

One check here is the commonest shape in the suites: ``describeServer``, answer checked for 200 and against
its Lexicon output schema. Against one reference PDS (started through the run's own Stack), three figures,
each a mean per check:

- **raw**: the request alone, through a plain ``httpx.Client`` (keep-alive, no checks);
- **check**: the same request through atcheck's XRPC client (evidence recorded) plus ``expect_ok`` and
  ``expect_valid`` with the Lexicon schema: what a suite test body costs;
- **session**: a whole conformance test under pytest and the atcheck plugin (collection, markers, result and
  evidence recording, the report's share), measured as the marginal cost of one more test: two sessions of
  ``--small`` and ``--large`` tests against the same server (a URL target), ``(T_large - T_small) /
  (large - small)``, so the session's fixed start-up and report writing cancel out.

- **bare pytest**: the same marginal cost with the atcheck plugin disabled (``-p no:atcheck``), a plain
  ``httpx`` request per test and no checks: what pytest itself costs per test, for scale.

The ratios are check/raw and session/raw (and bare/raw). Wall-clock figures on a loaded machine are noisy;
the load average is printed with them.

    .venv/bin/python benchmarks/harness_overhead.py [--requests 400] [--small 20] [--large 320]
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


def session_time(url: str, tests: int, folder: Path, *, bare: bool = False) -> float:
    (folder / "test_overhead.py").write_text(BARE_SUITE if bare else SUITE, encoding="utf-8")
    env = {**os.environ, "OVERHEAD_TESTS": str(tests), "OVERHEAD_URL": url, "ATCHECK_HOME": str(ROOT)}
    env.pop("ATCHECK_TARGETS", None)
    if bare:
        options = ["-p", "no:atcheck", "-p", "no:allure_pytest"]
    else:
        options = ["--atcheck-target", url, "--atcheck-report-dir", str(folder / "report")]
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(folder / "test_overhead.py"), "-q", "-p", "no:cacheprovider",
            "--rootdir", str(folder), *options, "-W", "ignore::pytest.PytestAssertRewriteWarning",
        ],
        capture_output=True, text=True, env=env, cwd=folder, timeout=1800, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"the session failed ({done.returncode}): {(done.stdout + done.stderr)[-800:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="harness overhead per black-box check")
    parser.add_argument("--requests", type=int, default=400, help="requests for the raw and check figures")
    parser.add_argument("--small", type=int, default=20, help="tests in the small session")
    parser.add_argument("--large", type=int, default=320, help="tests in the large session")
    parser.add_argument("--repeat", type=int, default=2, help="sessions of each size; the best is used")
    args = parser.parse_args(argv)
    try:
        with started(["reference"]) as (_stack, running):
            url = running["reference"].endpoints[Role.PDS].url
            raw = raw_times(url, args.requests)
            check = check_times(url, args.requests)
            raw += raw_times(url, args.requests)  # raw before and after, so drift in load hits both
            with tempfile.TemporaryDirectory(prefix="atcheck-overhead-") as tmp:
                small = min(session_time(url, args.small, Path(tmp)) for _ in range(args.repeat))
                large = min(session_time(url, args.large, Path(tmp)) for _ in range(args.repeat))
                bare_small = min(
                    session_time(url, args.small, Path(tmp), bare=True) for _ in range(args.repeat)
                )
                bare_large = min(
                    session_time(url, args.large, Path(tmp), bare=True) for _ in range(args.repeat)
                )
    except (AtcheckError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"harness_overhead: {exc}", file=sys.stderr)
        return 2
    raw_mean, check_mean = statistics.fmean(raw), statistics.fmean(check)
    per_test = (large - small) / (args.large - args.small)
    bare_per_test = (bare_large - bare_small) / (args.large - args.small)
    print(f"load average:    {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    print(f"raw request:     mean {raw_mean * 1e3:6.2f} ms, median {statistics.median(raw) * 1e3:6.2f} ms")
    check_median = statistics.median(check) * 1e3
    print(f"check (client+checks): mean {check_mean * 1e3:6.2f} ms, median {check_median:6.2f} ms")
    sizes = f"{args.small} tests {small:.2f} s, {args.large} tests {large:.2f} s"
    print(f"session per test: {per_test * 1e3:6.2f} ms  ({sizes})")
    print(f"bare pytest per test: {bare_per_test * 1e3:6.2f} ms  (plugin disabled, raw request, no checks)")
    print(f"ratio check/raw:   {check_mean / raw_mean:5.2f}x")
    print(f"ratio bare/raw:    {bare_per_test / raw_mean:5.2f}x")
    verdict = "met" if per_test / raw_mean <= 1.3 else "NOT met"
    print(f"ratio session/raw: {per_test / raw_mean:5.2f}x  (goal <= 1.3x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
