"""Assertions for conformance suites whose failures explain themselves.

A failed check in a compliance report must tell an implementer three things without reading the test: what the
spec expects, what their server sent back, and which request produced it. Every helper here raises
:class:`ConformanceFailure`, whose message is built from exactly those three parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atcheck.failure import SHOWN_CHARS as _SHOWN_CHARS
from atcheck.failure import ConformanceFailure
from atcheck.failure import show as _show

if TYPE_CHECKING:
    from atcheck.xrpc.client import XrpcResponse

__all__ = [
    "ConformanceFailure",
    "expect",
    "expect_content_type",
    "expect_equal",
    "expect_error",
    "expect_ok",
    "expect_status",
    "expect_valid",
]


def _body_summary(resp: XrpcResponse) -> str:
    if not resp.content:
        return f"HTTP {resp.status} with an empty body"
    if resp.content_type in ("application/json", "") or resp.content_type.startswith("text/"):
        return f"HTTP {resp.status} {resp.text[:_SHOWN_CHARS]!r}"
    return f"HTTP {resp.status} with {len(resp.content)} bytes of {resp.content_type}"


def expect(condition: bool, expected: str, got: object, resp: XrpcResponse | None = None) -> None:
    """Fail with ``expected``/``got`` unless ``condition`` holds."""
    if not condition:
        raise ConformanceFailure(expected, got, resp)


def expect_equal(got: object, want: object, what: str, resp: XrpcResponse | None = None) -> None:
    """``got == want``, described as ``what`` (e.g. "the record's CID")."""
    if got != want:
        raise ConformanceFailure(f"{what} to be {_show(want)}", got, resp)


def expect_status(resp: XrpcResponse, *statuses: int) -> None:
    """The response has one of ``statuses``."""
    if resp.status not in statuses:
        wanted = " or ".join(str(s) for s in statuses)
        raise ConformanceFailure(f"HTTP {wanted}", _body_summary(resp), resp)


def expect_content_type(resp: XrpcResponse, media_type: str) -> None:
    """The response's Content-Type media type (parameters ignored) is ``media_type``."""
    if resp.content_type != media_type.lower():
        raise ConformanceFailure(
            f"Content-Type {media_type}", resp.headers.get("content-type", "no Content-Type"), resp
        )


def expect_ok(resp: XrpcResponse) -> dict[str, Any]:
    """HTTP 200 with a JSON object body; returns the object."""
    expect_status(resp, 200)
    expect_content_type(resp, "application/json")
    body = resp.json()
    if not isinstance(body, dict):
        raise ConformanceFailure("a JSON object body", body, resp)
    return body


def expect_error(
    resp: XrpcResponse,
    status: int | tuple[int, ...],
    error: str | tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """An XRPC error: the status, and a JSON body ``{"error": str, "message"?: str}``.

    ``error`` names the acceptable ``error`` values; None accepts any non-empty name.
    """
    statuses = status if isinstance(status, tuple) else (status,)
    expect_status(resp, *statuses)
    body = resp.json()
    if not isinstance(body, dict):
        raise ConformanceFailure('an XRPC error body {"error": ..., "message": ...}', body, resp)
    name = body.get("error")
    if not isinstance(name, str) or not name:
        raise ConformanceFailure('an "error" field holding the error name (a non-empty string)', body, resp)
    if "message" in body and not isinstance(body["message"], str):
        raise ConformanceFailure('"message" to be a string when present', body["message"], resp)
    if error is not None:
        names = error if isinstance(error, tuple) else (error,)
        if name not in names:
            raise ConformanceFailure(f"error {' or '.join(names)}", body, resp)
    return body


def expect_valid(
    instance: object, schema: dict[str, Any], what: str, resp: XrpcResponse | None = None
) -> None:
    """``instance`` validates against the JSON Schema (2020-12) ``schema``; all errors are listed.

    Validation uses atcheck's Lexicon-aware validator, so the rules JSON Schema cannot express (UTF-8 byte and
    grapheme limits, decoded ``$bytes`` lengths, the data model, the atproto string formats) are enforced too.
    """
    from atcheck.schema.keywords import LexiconValidator, format_checker

    validator = LexiconValidator(schema, format_checker=format_checker())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        described = "; ".join(
            f"at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:5]
        )
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConformanceFailure(f"{what} to match its schema", described + more, resp)
