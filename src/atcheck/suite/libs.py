"""What the library suites (``suites/libs``) use: the target's harness, the cases by rule, and the verdict.

A library test names one catalogue row, gets every case of that row (official vectors, atcheck's rule cases,
generated ones), puts them to the library through its harness in one pipelined batch, and judges each
answer (:func:`atcheck.libs.case.judge`). Every disagreement is listed in the failure message, with its
input and where the case came from, and recorded as evidence (one pseudo-exchange per disagreeing case, the
request line and the answer), so the report shows the inputs that tell the library and the oracle apart.

A case the library answers ``unsupported`` is not counted; a test whose cases are all unsupported is skipped,
with the reason. A harness that breaks (exits, writes garbage, stays silent) makes the test an error that
names the input it broke on; the harness is restarted for the next test.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from atcheck.baseline import case_tag
from atcheck.errors import AtcheckError
from atcheck.failure import ConformanceFailure
from atcheck.libs import cases_data, cases_lexicon, cases_repo, cases_syntax
from atcheck.libs.case import Case, judge
from atcheck.libs.harness import Answer, Harness, HarnessBroke, Request
from atcheck.libs.launch import HarnessService, harness_of
from atcheck.paths import vectors_dir
from atcheck.report.model import Exchange
from atcheck.suite.target import TargetDidNotStart, TargetUnderTest
from atcheck.targets.model import Role

__all__ = [
    "Case",
    "CaseSet",
    "Library",
    "check_cases",
    "crypto_cases",
    "data_cases",
    "disagreement_key",
    "lexicon_cases",
    "lexicon_data_cases",
    "library",
    "mst_cases",
    "syntax_cases",
]

_LISTED = 100  # disagreements spelled out in a failure message (the evidence keeps the first 50)
_CHUNK = 500  # requests per pipelined batch


@dataclass
class CaseSet:
    """The cases of one area, grouped by the catalogue row each checks, and why vectors may be missing."""

    by_row: dict[str, list[Case]]
    vectors_missing: str | None = None

    @property
    def rows(self) -> list[str]:
        return sorted(self.by_row)


def _group(cases: Iterable[Case], missing: str | None) -> CaseSet:
    by_row: dict[str, list[Case]] = {}
    for case in cases:
        by_row.setdefault(case.requirement, []).append(case)
    return CaseSet(by_row, missing)


def _with_vectors(make: Callable[[Any], list[Case]]) -> tuple[list[Case], str | None]:
    try:
        folder = vectors_dir()
    except AtcheckError as exc:
        return [], str(exc)
    try:
        return make(folder), None
    except (OSError, ValueError, KeyError) as exc:
        return [], f"the official vectors could not be read: {type(exc).__name__}: {exc}"


@cache
def syntax_cases() -> CaseSet:
    vectors, missing = _with_vectors(cases_syntax.vector_cases)
    return _group([*vectors, *cases_syntax.rule_cases(), *cases_syntax.generated_cases()], missing)


@cache
def data_cases() -> CaseSet:
    vectors, missing = _with_vectors(cases_data.vector_cases)
    return _group([*vectors, *cases_data.rule_cases(), *cases_data.generated_cases()], missing)


@cache
def mst_cases() -> CaseSet:
    vectors, missing = _with_vectors(cases_repo.mst_vector_cases)
    return _group([*vectors, *cases_repo.mst_rule_cases(), *cases_repo.mst_generated_cases()], missing)


@cache
def crypto_cases() -> CaseSet:
    vectors, missing = _with_vectors(cases_repo.crypto_vector_cases)
    return _group([*vectors, *cases_repo.crypto_generated_cases()], missing)


@cache
def lexicon_cases() -> CaseSet:
    return _group(cases_lexicon.file_cases(), None)


@cache
def lexicon_data_cases() -> CaseSet:
    return _group(cases_lexicon.val_cases(), None)


@dataclass
class Library:
    """A library target's harness as a test uses it."""

    target: TargetUnderTest
    service: HarnessService

    @property
    def harness(self) -> Harness:
        if not self.service.alive():
            try:
                self.service.restart()
            except AtcheckError as exc:
                raise TargetDidNotStart(
                    f"the harness of {self.target.name} could not be restarted: {exc}"
                ) from None
        return self.service.harness

    @property
    def name(self) -> str:
        return self.target.name


def library(target: TargetUnderTest) -> Library:
    """The harness of ``target``, a library target (a test of another kind of target is skipped)."""
    endpoint = target.running.endpoint(Role.LIB)
    if endpoint is None:
        pytest.skip(f"target {target.name} is not a library")
    try:
        service = harness_of(endpoint)
    except AtcheckError as exc:
        raise TargetDidNotStart(str(exc)) from None
    return Library(target, service)


@dataclass
class Tally:
    """What one test's cases came to: counts and the rate, for the report's note."""

    asked: int
    agreed: int
    unsupported: int
    seconds: float

    def note(self) -> str:
        rate = self.asked / self.seconds if self.seconds > 0 else 0.0
        judged = self.asked - self.unsupported
        return (
            f"{self.agreed}/{judged} cases agree ({self.unsupported} unsupported); "
            f"{rate:.0f} cases/s through the harness"
        )


def _ask(lib: Library, cases: list[Case]) -> tuple[list[Answer], float]:
    answers: list[Answer] = []
    started = time.monotonic()
    for first in range(0, len(cases), _CHUNK):
        chunk = cases[first : first + _CHUNK]
        try:
            answers += lib.harness.batch(Request(c.op, c.args) for c in chunk)
        except HarnessBroke as exc:
            broke_on = chunk[len(exc.answered)] if len(exc.answered) < len(chunk) else None
            where = f" on {broke_on.show()} ({broke_on.source})" if broke_on is not None else ""
            raise TargetDidNotStart(f"the harness broke{where}: {exc}") from None
    return answers, time.monotonic() - started


def _evidence(lib: Library, case: Case, answer: Answer, detail: str) -> Exchange:
    request = json.dumps({"op": case.op, "args": case.args}, ensure_ascii=True)
    response = json.dumps({answer.kind: answer.value if answer.kind != "unsupported" else True})
    return Exchange(
        method="HARNESS",
        url=f"harness:{lib.name} {case.op} ({case.source})",
        status=None,
        request_body=request[:4000],
        response_body=f"{response[:4000]}\n-- {detail}",
    )


def check_cases(
    lib: Library, cases: list[Case], rule: str, note: Callable[[str], None] | None = None
) -> Tally:
    """Put ``cases`` to the library and fail listing every disagreement with atcheck's oracle.

    ``note`` receives the counts and the rate when the test passes (the report shows it with the result).
    """
    if not cases:
        pytest.skip(f"no case checks {rule} here")
    answers, seconds = _ask(lib, cases)
    unsupported = 0
    disagreements: list[str] = []
    disagreeing: list[Case] = []
    for case, answer in zip(cases, answers, strict=True):
        verdict = judge(case, answer)
        if verdict.status == "unsupported":
            unsupported += 1
        elif verdict.status == "disagree":
            why = f" [{case.why}]" if case.why else ""
            disagreements.append(f"{case.source}{why}: {case.show()} -> {verdict.detail}")
            disagreeing.append(case)
            lib.target.recorder.record(_evidence(lib, case, answer, verdict.detail))
    tally = Tally(len(cases), len(cases) - unsupported - len(disagreements), unsupported, seconds)
    if unsupported == len(cases):
        ops = sorted({c.op for c in cases})
        pytest.skip(f"{lib.name} has no routine for {', '.join(ops)} (its harness answers unsupported)")
    if disagreements:
        listed = "\n  ".join(disagreements[:_LISTED])
        more = f"\n  ... and {len(disagreements) - _LISTED} more" if len(disagreements) > _LISTED else ""
        judged = len(cases) - unsupported
        raise Disagreement(
            f"expected {lib.name} to agree with atcheck's oracle on every case of {rule}; "
            f"{len(disagreements)} of {judged} cases disagree {case_tag(disagreement_key(disagreeing))}:"
            f"\n  {listed}{more}\n({tally.note()})"
        )
    if note is not None:
        note(tally.note())
    return tally


def disagreement_key(cases: Iterable[Case]) -> str:
    """The case key of a library's failure: which inputs disagreed, as a count and a digest of them.

    A row's test puts many cases to the library, so a baseline entry naming the test alone would excuse any
    later disagreement on that row too. With this key (``[case: 3-disagree-1a2b3c4d5e]``) an entry excuses
    exactly the set of inputs it was written for; one more disagreeing input is a new failure.
    """
    inputs = sorted(f"{c.source}|{c.op}|{json.dumps(c.args, sort_keys=True, default=repr)}" for c in cases)
    digest = hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:10]
    return f"{len(inputs)}-disagree-{digest}"


class Disagreement(ConformanceFailure):
    """A library disagreed with the oracle: the message lists the inputs (not cut like a single value)."""

    def __init__(self, message: str) -> None:
        AssertionError.__init__(self, message)
        self.expected = "agreement with atcheck's oracle"
        self.got = message
        self.request_line = None
