"""The library suite's cases: derandomized (the same every run), judged consistently with the oracle, and each
naming a catalogue row. A rule case the oracle itself disagrees with would blame every library for it."""

from __future__ import annotations

import base64

import pytest

from atcheck.catalogue import load_catalogue
from atcheck.libs import cases_data, cases_repo, cases_syntax
from atcheck.libs.case import Case, judge
from atcheck.libs.harness import Answer
from atcheck.oracle.cbor import decode_strict, encode, from_json
from atcheck.oracle.crypto import is_valid_signature
from atcheck.oracle.errors import OracleError
from atcheck.suite import libs
from atcheck.syntax import KINDS


def _all() -> list[Case]:
    return [
        c
        for cs in (libs.syntax_cases(), libs.data_cases(), libs.mst_cases(), libs.crypto_cases())
        for cases in cs.by_row.values()
        for c in cases
    ]


def test_every_case_names_a_catalogued_row_that_applies_to_libraries() -> None:
    catalogue = load_catalogue()
    rows = {c.requirement for c in _all()}
    assert rows and all(r in catalogue for r in rows)
    assert all("lib" in catalogue.get(r).applies_to for r in rows)


def test_generated_cases_are_the_same_on_every_run() -> None:
    assert cases_syntax.generated_cases() == cases_syntax.generated_cases()
    assert cases_data.generated_cases() == cases_data.generated_cases()
    assert cases_repo.mst_generated_cases() == cases_repo.mst_generated_cases()

    # Keys and messages are seeded; ECDSA's nonce is random, so the signature bytes vary, never the verdict.
    def shape(cases: list[Case]) -> list[tuple[object, ...]]:
        return [(c.op, c.args.get("did_key"), c.args.get("message_b64"), c.expect) for c in cases]

    assert shape(cases_repo.crypto_generated_cases()) == shape(cases_repo.crypto_generated_cases())


def test_syntax_rule_cases_agree_with_the_oracle() -> None:
    for case in cases_syntax.rule_cases():
        if case.op == "syntax.valid":
            assert KINDS[case.args["kind"]](case.args["value"]) is (case.expect == "accept"), case.why


def test_bad_cbor_is_refused_by_the_oracle_and_good_cbor_decodes() -> None:
    for case in cases_data.rule_cases():
        if case.op == "cbor.decode":
            data = base64.b64decode(case.args["bytes_b64"])
            if case.expect == "reject":
                with pytest.raises(OracleError):
                    decode_strict(data)
            else:
                assert encode(decode_strict(data)) == data


def test_refused_values_are_refused_by_the_oracle() -> None:
    for case in cases_data.rule_cases():
        if case.op == "cbor.encode" and case.expect == "refuse":
            with pytest.raises(OracleError):
                from_json(case.args["json"])


def test_signature_cases_agree_with_the_oracle() -> None:
    for case in cases_repo.crypto_generated_cases():
        if case.op == "crypto.verify":
            args = case.args
            message = base64.b64decode(args["message_b64"])
            signature = base64.b64decode(args["signature_b64"])
            try:
                valid = is_valid_signature(args["did_key"], message, signature)
            except OracleError:
                valid = False
            assert valid is (case.expect == "accept"), case.why


def test_a_library_may_refuse_a_wide_integer_but_not_change_it() -> None:
    wide = next(c for c in cases_data.rule_cases() if c.may_refuse and c.op == "cbor.encode")
    assert judge(wide, Answer("error", "too wide")).status == "agree"
    assert judge(wide, Answer("result", "AAAA")).status == "disagree"
    assert judge(wide, Answer("unsupported")).status == "unsupported"
