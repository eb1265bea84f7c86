"""The suite tests the verdict audit found weak can now fail: each catches a fault planted in a fake PDS.

Every case runs the real suite test function twice: against the correct fake (it must pass, so the test is
not simply always failing) and with one fault planted (it must fail with a conformance failure). The faults
are the ones the audit named: a refusal that stores anyway behind a broken getRecord ("nothing was stored"
used to accept any non-200), a 500 that stores, a missing ``validationStatus`` (checked only when present),
a GET that runs a procedure, a missing refresh token (skipped instead of failed), integers rounded through a
float (never sent), and malformed objects accepted only when validation is unset (never sent).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from atcheck.checks import ConformanceFailure
from atcheck.xrpc.client import XrpcClient

SUITES = Path(__file__).resolve().parents[2] / "suites"


def _load(name: str, path: Path) -> ModuleType:
    """A module imported from its file (neither suites/ nor tests/ is a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _suite(relative: str) -> ModuleType:
    return _load("selftest_" + relative.replace("/", "_").removesuffix(".py"), SUITES / relative)


_fake = _load("selftest_fake_repo_pds", Path(__file__).with_name("fake_repo_pds.py"))
FAULTS, serve = _fake.FAULTS, _fake.serve
FakePds = Any


RULES = "repo/test_repo_input_rules.py"
RECORDS = "repo/test_repo_records.py"
VALUES = "repo/test_repo_values.py"
SERVER = "server/test_server_accounts.py"
XRPC = "xrpc/test_xrpc_http.py"

Run = Callable[[FakePds], None]


def _account(test: str, module: str, **kw: Any) -> Run:
    return lambda pds: getattr(_suite(module), test)(pds.account(), **kw)


def _pds_and_account(test: str, module: str, *, refresh: bool = True) -> Run:
    return lambda pds: getattr(_suite(module), test)(XrpcClient(pds.url), pds.account(refresh=refresh))


#: (suite test, how to call it, the fault it must catch). The fault list is the audit's, item by item.
CASES: list[tuple[str, Run, tuple[str, ...]]] = [
    (
        "floats: a 500 that stored",
        _account("test_floats_are_refused", RULES, number="1.5"),
        ("store_then_fail",),
    ),
    (
        "floats: refused, stored, unreadable",
        _account("test_floats_are_refused", RULES, number="1.5"),
        ("refuse_but_store", "get_500"),
    ),
    (
        "integers beyond i64: a 500 that stored",
        _account("test_integers_beyond_64_bits_are_refused", RULES, number="9223372036854775808"),
        ("store_then_fail",),
    ),
    (
        "malformed $bytes, validate unset",
        _account(
            "test_malformed_special_objects_are_refused_even_without_validation",
            RULES,
            case="bytes-not-a-string",
            mode="validate-unset",
        ),
        ("malformed_ok_when_unset",),
    ),
    (
        "malformed $link: refused, stored, unreadable",
        _account(
            "test_malformed_special_objects_are_refused_even_without_validation",
            RULES,
            case="link-bogus-cid",
            mode="validate-false",
        ),
        ("refuse_but_store", "get_500"),
    ),
    (
        "54-64-bit integers rounded",
        _account("test_integers_of_54_to_64_bits_are_kept_exactly_or_refused", RECORDS, number=2**60 + 7),
        ("round_ints",),
    ),
    (
        "validationStatus missing",
        _account(
            "test_the_response_reports_whether_validation_happened",
            VALUES,
            collection="com.example.atcheck.values",
            status="unknown",
        ),
        ("no_validation_status",),
    ),
    (
        "validate=true ignored",
        _account("test_required_validation_refuses_an_unknown_lexicon", VALUES),
        ("validate_true_ignored",),
    ),
    (
        "GET runs a procedure",
        _pds_and_account("test_get_to_a_procedure_is_refused", XRPC),
        ("get_runs_procedures",),
    ),
    (
        "no credentials: refused, stored, unreadable",
        _pds_and_account("test_write_without_credentials_is_401", XRPC),
        ("refuse_but_store", "get_500"),
    ),
    (
        "a refresh token writes",
        lambda pds: _suite(SERVER).test_a_refresh_token_cannot_write(XrpcClient(pds.url), pds.account()),
        ("refresh_writes",),
    ),
]


@pytest.mark.parametrize(("name", "run", "faults"), CASES, ids=[c[0] for c in CASES])
def test_the_suite_test_passes_on_the_correct_server(name: str, run: Run, faults: tuple[str, ...]) -> None:
    with serve() as pds:
        run(pds)


@pytest.mark.parametrize(("name", "run", "faults"), CASES, ids=[c[0] for c in CASES])
def test_the_suite_test_catches_the_planted_fault(name: str, run: Run, faults: tuple[str, ...]) -> None:
    with serve(*faults) as pds, pytest.raises(ConformanceFailure):
        run(pds)


@pytest.mark.parametrize(
    "test", ["test_a_refresh_token_cannot_write", "test_tokens_are_domain_separated_by_typ"]
)
def test_a_session_without_a_refresh_token_fails_rather_than_skips(test: str) -> None:
    """createAccount and createSession both require refreshJwt: with sessions, none is a failure."""
    with serve() as pds:
        account = pds.account(refresh=False)
        call = getattr(_suite(SERVER), test)
        args = (
            (account,)
            if test == "test_tokens_are_domain_separated_by_typ"
            else (XrpcClient(pds.url), account)
        )
        with pytest.raises(ConformanceFailure, match="refreshJwt"):
            call(*args)


def test_every_planted_fault_is_used() -> None:
    used = {fault for _, _, faults in CASES for fault in faults}
    assert used == set(FAULTS)
