"""The result model every report writer reads.

One :class:`RunReport` per run. It carries the whole requirement catalogue (the denominator of coverage), the
targets, and one :class:`TestResult` per (test, target). Writers derive the requirement x target
matrix from it with :func:`requirement_matrix`; nothing else is stored twice.

The JSON form (``RunReport.to_json``) is described by ``schemas/report.schema.json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # the test could not judge (the target crashed, the harness broke)


class Verdict(StrEnum):
    """A requirement's verdict for one target, folded from the outcomes of its tests."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    UNTESTED = "untested"  # no test names this requirement
    NOT_RUN = "not-run"  # tests exist, but none ran against this target (filtered out, target not started)


@dataclass
class RequirementInfo:
    id: str
    level: str  # MUST | SHOULD | MAY
    area: str
    statement: str
    spec_ref: str
    applies_to: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)  # where spec, vectors and reference disagree
    tests: list[str] = field(default_factory=list)  # test IDs that name this requirement
    spec_url: str | None = None  # a link to the spec page (or Lexicon) spec_ref names first
    origin: str = "draft"  # draft: from the design draft; atcheck: added by the project since


@dataclass
class TargetInfo:
    name: str
    implementation: str
    version: str
    roles: list[str]
    launcher: str
    capabilities: list[str] = field(default_factory=list)
    status: str = "ran"  # ran | not-run
    reason: str | None = None  # why a target did not run


@dataclass
class Exchange:
    """One HTTP request and its response, as evidence. Secrets are scrubbed before writing."""

    method: str
    url: str
    status: int | None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None


@dataclass
class Interop:
    """Which way a test that exercised two implementations ran: the interop matrix's (scenario, pair) cells.

    ``producers`` made what ``consumers`` took in (a PDS's commits and a relay reading them; the old PDS of a
    migration and the new one). Each lists run names; the matrix counts the result once per pair.
    """

    scenario: str  # e.g. "federation", "migration"
    producers: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)


@dataclass
class TestResult:
    test_id: str  # e.g. "suites/repo/test_records.py::test_create_record_cid"
    target: str
    requirement_ids: list[str]
    level: str  # the strongest level among requirement_ids
    outcome: Outcome
    message: str = ""
    duration_s: float = 0.0
    evidence: list[Exchange] = field(default_factory=list)
    seed: str | None = None  # hypothesis seed or similar, to reproduce
    known_failure: str | None = None  # the baseline's reason, when this failure was expected
    role: str | None = None  # the service role the test checks, charged with its failure (report/defects.py)
    #: run names of the other implementations or instances the test exercised (a peer PDS, a twin, a relay's
    #: upstreams); empty for a test of the target alone
    peers: list[str] = field(default_factory=list)
    interop: Interop | None = None  # the direction, when the test declares one (report/interop.py)


@dataclass
class RunReport:
    atcheck_version: str
    run_id: str
    started_at: str  # ISO 8601 UTC
    finished_at: str
    duration_s: float
    targets: list[TargetInfo]
    requirements: list[RequirementInfo]
    results: list[TestResult]
    environment: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def must_failed(self) -> bool:
        """True when a result naming a MUST requirement failed or errored, other than a known failure.

        The run's verdict, computed here only: the CLI's exit status reads it from the report object the
        plugin built (:mod:`atcheck.report.defects` words the same verdict for people). A failure the baseline
        expects stays failed in the report but does not fail the run.
        """
        must = {req.id for req in self.requirements if req.level == "MUST"}
        return any(
            result.outcome in (Outcome.FAILED, Outcome.ERROR)
            and not result.known_failure
            and any(req_id in must for req_id in result.requirement_ids)
            for result in self.results
        )

    def requirement(self, req_id: str) -> RequirementInfo:
        for req in self.requirements:
            if req.id == req_id:
                return req
        raise KeyError(req_id)


def fold_outcomes(outcomes: Iterable[Outcome]) -> Verdict:
    """Fold test outcomes into one verdict.

    Any failure fails; an error beats a pass; all-skipped is skipped.
    """
    seen = set(outcomes)
    if not seen:
        return Verdict.NOT_RUN
    if Outcome.FAILED in seen:
        return Verdict.FAILED
    if Outcome.ERROR in seen:
        return Verdict.ERROR
    if Outcome.PASSED in seen:
        return Verdict.PASSED
    return Verdict.SKIPPED


def requirement_matrix(report: RunReport) -> dict[tuple[str, str], Verdict]:
    """The requirement x target matrix: one verdict per (requirement ID, target name)."""
    by_cell: dict[tuple[str, str], list[Outcome]] = {}
    for result in report.results:
        for req_id in result.requirement_ids:
            by_cell.setdefault((req_id, result.target), []).append(result.outcome)
    matrix: dict[tuple[str, str], Verdict] = {}
    for req in report.requirements:
        for target in report.targets:
            outcomes = by_cell.get((req.id, target.name), [])
            if not req.tests:
                matrix[(req.id, target.name)] = Verdict.UNTESTED
            else:
                matrix[(req.id, target.name)] = fold_outcomes(outcomes)
    return matrix
