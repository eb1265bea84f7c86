"""Hand-built run reports for the writer self-tests.

The sample run has three targets (two ran, one did not), requirements of every level including an untested
one and one no test ran on a target, failures with HTTP evidence, and secrets and hostile markup planted
everywhere a server or the harness could put them: messages, headers, bodies, URLs, target notes, the
environment.
"""

from __future__ import annotations

import pytest

from atcheck.report.model import (
    Exchange,
    Outcome,
    RequirementInfo,
    RunReport,
    TargetInfo,
)
from atcheck.report.model import (
    TestResult as Result,
)

PASSWORD = "hunter2-Sekr3t&<pw>"
ADMIN_PASSWORD = "adm1n-p4ss-w0rd"
ACCESS_JWT = "eyJhbGciOiJFUzI1NksifQ.eyJzdWIiOiJkaWQ6cGxjOmFiYyJ9.c2lnbmF0dXJlLWJ5dGVz"
REFRESH_JWT = "eyJ0eXAiOiJyZWZyZXNoK2p3dCJ9.eyJzY29wZSI6InJlZnJlc2gifQ.cmVmcmVzaC1zaWc"
APP_TOKEN = "tok-9f8e7d6c5b4a-opaque"
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def _req(rid: str, level: str, area: str, tests: list[str], **kw: list[str]) -> RequirementInfo:
    return RequirementInfo(
        id=rid,
        level=level,
        area=area,
        statement=f"Statement of {rid}: servers must do the thing.",
        spec_ref=f"https://atproto.com/specs/{area}#{rid.lower()}",
        applies_to=["pds"],
        tests=tests,
        **kw,
    )


T_ENVELOPE = "suites/xrpc/test_errors.py::test_error_envelope"
T_STATUS = "suites/xrpc/test_errors.py::TestStatus::test_unknown_method[GET]"
T_SHOULD = "suites/xrpc/test_errors.py::test_message_is_human"
T_CREATE = "suites/repo/test_records.py::test_create_record_cid"
T_SYNTAX = "suites/syntax/test_tid.py::test_tid_syntax"


def failing_evidence() -> list[Exchange]:
    return [
        Exchange(
            method="POST",
            url=f"http://127.0.0.1:2583/xrpc/com.atproto.server.createSession?token={APP_TOKEN}",
            status=200,
            request_headers={"Content-Type": "application/json", "X-Admin": ADMIN_PASSWORD},
            request_body=f'{{"identifier": "alice.test", "password": "{PASSWORD}"}}',
            response_headers={"Content-Type": "application/json", "Set-Cookie": f"session={APP_TOKEN}"},
            response_body=(
                f'{{"did": "did:plc:abc", "accessJwt": "{ACCESS_JWT}", "refreshJwt": "{REFRESH_JWT}", '
                f'"handle": "alice.test"}}'
            ),
        ),
        Exchange(
            method="GET",
            url="http://127.0.0.1:2583/xrpc/com.atproto.unknown.method",
            status=500,
            request_headers={"Authorization": f"Bearer {ACCESS_JWT}", "DPoP": "proof-" + APP_TOKEN},
            request_body=None,
            response_headers={"Content-Type": "text/html", "X-Echo": f"you sent {PASSWORD}"},
            response_body=f"<html>{HOSTILE} internal error\x00\x1b[31m for {ADMIN_PASSWORD}</html>",
        ),
    ]


def build_report() -> RunReport:
    requirements = [
        _req("XRPC-ERR-01", "MUST", "xrpc", [T_ENVELOPE, T_STATUS]),
        _req("XRPC-ERR-02", "SHOULD", "xrpc", [T_SHOULD]),
        _req("REPO-CID-01", "MUST", "repo", [T_CREATE], deviations=[f"reference differs: {HOSTILE}"]),
        _req("SYNC-FH-03", "MUST", "sync", []),  # untested
        _req("SYN-TID-01", "MAY", "syntax", [T_SYNTAX]),  # never ran on reference: not-run there
    ]
    targets = [
        TargetInfo("reference", "@atproto/pds", "0.5.1", ["pds", "plc"], "process", ["createAccount"]),
        TargetInfo("arroba", "arroba", "3.1", ["pds"], "process", []),
        TargetInfo(
            "broken",
            "some-pds",
            f"1.0 {HOSTILE}",
            ["pds"],
            "url",
            status="not-run",
            reason=f"unreachable: http://admin:{ADMIN_PASSWORD}@127.0.0.1:9/ said {HOSTILE}",
        ),
    ]
    hostile_message = (
        f"expected status 400 with {{error, message}}, got 500 for GET /xrpc/com.atproto.unknown.method\n"
        f"body: {HOSTILE} | pipe * star _under_ `tick` password={PASSWORD} token {ACCESS_JWT}\x07"
    )
    results = [
        Result(T_ENVELOPE, "reference", ["XRPC-ERR-01"], "MUST", Outcome.PASSED, duration_s=0.12),
        Result(T_STATUS, "reference", ["XRPC-ERR-01"], "MUST", Outcome.PASSED, duration_s=0.05),
        Result(
            T_ENVELOPE,
            "arroba",
            ["XRPC-ERR-01", "XRPC-ERR-02"],
            "MUST",
            Outcome.FAILED,
            message=hostile_message,
            duration_s=0.3,
            evidence=failing_evidence(),
            seed=f"hypothesis-seed-{APP_TOKEN}",
        ),
        Result(T_STATUS, "arroba", ["XRPC-ERR-01"], "MUST", Outcome.PASSED, duration_s=0.04),
        Result(
            T_SHOULD,
            "reference",
            ["XRPC-ERR-02"],
            "SHOULD",
            Outcome.SKIPPED,
            message="target does not declare capability 'humanMessages'",
        ),
        Result(
            T_SHOULD,
            "arroba",
            ["XRPC-ERR-02"],
            "SHOULD",
            Outcome.ERROR,
            message=f"connection reset by peer; Authorization: Bearer {ACCESS_JWT}",
        ),
        Result(T_CREATE, "reference", ["REPO-CID-01"], "MUST", Outcome.PASSED, duration_s=1.5),
        Result(
            T_CREATE,
            "arroba",
            ["REPO-CID-01"],
            "MUST",
            Outcome.ERROR,
            message=f"server crashed: {{'password': '{PASSWORD}'}}",
            evidence=failing_evidence()[1:],
        ),
        Result(T_SYNTAX, "arroba", ["SYN-TID-01"], "MAY", Outcome.PASSED),
    ]
    return RunReport(
        atcheck_version="0.1.0",
        run_id="20261125T120000Z-abc123",
        started_at="2026-11-25T12:00:00Z",
        finished_at="2026-11-25T12:01:05.5+00:00",
        duration_s=65.5,
        targets=targets,
        requirements=requirements,
        results=results,
        environment={
            "python": "3.11.7",
            "node": "22.11.0",
            "ATCHECK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "note": f"session {REFRESH_JWT}",
        },
    )


@pytest.fixture
def report() -> RunReport:
    return build_report()


@pytest.fixture
def secrets() -> list[str]:
    """The exact values the run knows to be secret (the JWTs are left to the structural rules)."""
    return [PASSWORD, ADMIN_PASSWORD, APP_TOKEN]


@pytest.fixture
def all_secrets() -> list[str]:
    """Everything that must not appear in any output, whether known to the run or caught by structure."""
    return [PASSWORD, ADMIN_PASSWORD, APP_TOKEN, ACCESS_JWT, REFRESH_JWT]


@pytest.fixture
def hostile() -> str:
    return HOSTILE
