"""report.json: the machine-readable form of a run, described by ``schemas/report.schema.json``.

It is the one file other tools read (dashboards, diffs between runs, a later re-rendering), so it carries the
model as is plus what is derived from it (the matrix and the summary), so that consumers need not re-implement
the verdict folding. Evidence bodies are clipped to :data:`BODY_LIMIT` so that one huge response cannot make
the report unusable.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from atcheck.errors import SetupError, UsageError
from atcheck.paths import project_root
from atcheck.report.clip import clip
from atcheck.report.defects import defects, headline
from atcheck.report.interop import Scenario, interop_matrix
from atcheck.report.model import (
    Exchange,
    Interop,
    Outcome,
    RequirementInfo,
    RunReport,
    TargetInfo,
    TestResult,
    requirement_matrix,
)
from atcheck.report.summary import Matrix, Summary, summarize

FORMAT_VERSION = 1

#: Characters kept of each request or response body, and of each message.
BODY_LIMIT = 256 * 1024
MESSAGE_LIMIT = 64 * 1024


def _clip_exchange(exchange: Exchange) -> Exchange:
    return replace(
        exchange,
        request_body=None if exchange.request_body is None else clip(exchange.request_body, BODY_LIMIT),
        response_body=None if exchange.response_body is None else clip(exchange.response_body, BODY_LIMIT),
    )


def _clipped(report: RunReport) -> RunReport:
    return replace(
        report,
        results=[
            replace(
                r,
                message=clip(r.message, MESSAGE_LIMIT),
                evidence=[_clip_exchange(e) for e in r.evidence],
            )
            for r in report.results
        ],
    )


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "coverage": {
            "requirements": summary.requirements,
            "tested": summary.tested,
            "ratio": round(summary.coverage, 4),
        },
        "must_failed": summary.must_failed,
        "targets": {
            t.name: {
                "status": t.status,
                "reason": t.reason,
                "outcomes": t.outcomes,
                "known_failures": t.known_failures,
                "verdicts": t.verdicts,
                "must_failed": t.must_failed,
            }
            for t in summary.targets
        },
    }


def interop_json(report: RunReport, scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """The interop matrix (:mod:`atcheck.report.interop`): per scenario, one cell per producer x consumer."""
    return [
        {
            "scenario": s.name,
            "producers": s.producers,
            "consumers": s.consumers,
            "cells": [
                {
                    "producer": cell.producer,
                    "consumer": cell.consumer,
                    **cell.counts,
                    "results": [
                        {
                            "test_id": report.results[i].test_id,
                            "target": report.results[i].target,
                            "counted": cell.columns[i],
                        }
                        for i in cell.results
                    ],
                }
                for cell in s.cells.values()
            ],
        }
        for s in scenarios
    ]


def report_json(report: RunReport, *, matrix: Matrix | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict (already redacted by the caller; see :mod:`atcheck.report.writer`)."""
    if matrix is None:
        matrix = requirement_matrix(report)
    data: dict[str, Any] = {"format_version": FORMAT_VERSION}
    data.update(_clipped(report).to_json())
    nested: dict[str, dict[str, str]] = {}
    for (req_id, target), verdict in matrix.items():
        nested.setdefault(req_id, {})[target] = str(verdict)
    data["matrix"] = nested
    data["interop"] = interop_json(report, interop_matrix(report))
    data["summary"] = summary_json(summarize(report, matrix))
    found = defects(report)
    data["summary"]["headline"] = headline(report, found)
    data["summary"]["defects"] = [
        {
            "target": d.target,
            "test": d.test,
            "role": d.role,
            "level": d.level,
            "requirement_ids": d.requirement_ids,
            "cases": len(d.cases),
            "new": bool(d.new_levels),
            "known_failure": d.reason if d.known else None,
        }
        for d in found
    ]
    return data


def render_json(report: RunReport, *, matrix: Matrix | None = None) -> str:
    """report.json's text: UTF-8, indented for people who open it, keys in model order."""
    return json.dumps(report_json(report, matrix=matrix), indent=1, ensure_ascii=False) + "\n"


def schema_path() -> Path:
    return project_root() / "schemas" / "report.schema.json"


@cache
def load_schema() -> dict[str, Any]:
    path = schema_path()
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SetupError(f"cannot read the report schema {path}: {exc}") from exc
    return schema


def validation_errors(data: Any) -> list[str]:
    """Every way ``data`` departs from the report schema, one line each (empty when valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(root)'}: {err.message}"
        for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]


_T = TypeVar("_T")


def _build(cls: type[_T], data: dict[str, Any]) -> _T:
    """``cls(**data)`` keeping only the fields ``cls`` has, so that files from other versions still load."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def report_from_json(data: dict[str, Any]) -> RunReport:
    """The :class:`RunReport` behind a report.json document (the derived matrix and summary are dropped).

    Lets a report be rendered again later, or several runs be compared, without re-running anything.
    """
    try:
        results = [
            _build(
                TestResult,
                {
                    **r,
                    "outcome": Outcome(r["outcome"]),
                    "evidence": [_build(Exchange, e) for e in r["evidence"]],
                    "interop": _build(Interop, r["interop"]) if r.get("interop") else None,
                },
            )
            for r in data["results"]
        ]
        return _build(
            RunReport,
            {
                **data,
                "targets": [_build(TargetInfo, t) for t in data["targets"]],
                "requirements": [_build(RequirementInfo, r) for r in data["requirements"]],
                "results": results,
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"not an atcheck report.json: {type(exc).__name__}: {exc}") from exc


def read_report(path: Path) -> RunReport:
    """Load a report.json written by :func:`render_json`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the report {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"not an atcheck report.json: {path}")
    return report_from_json(data)
