"""The exception every conformance check raises, in a module of its own so that anything may raise it.

:class:`ConformanceFailure` sits below both the checks (:mod:`atcheck.checks`) and the XRPC client (whose
``json()`` fails a test when a body is not JSON), so neither has to import the other.
"""

from __future__ import annotations

from typing import Protocol

SHOWN_CHARS = 300


class Described(Protocol):
    """A request and its response that can name themselves in one line (an XRPC response)."""

    def describe(self) -> str: ...


def show(value: object) -> str:
    """A value as a failure message shows it: its repr (or the string itself), cut at ``SHOWN_CHARS``."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + f"... [{len(text)} chars]"


class ConformanceFailure(AssertionError):
    """A server did not do what the spec requires: what was expected, what came back, from which request."""

    def __init__(self, expected: str, got: object, response: Described | None = None) -> None:
        self.expected = expected
        self.got = got
        self.request_line = response.describe() if response is not None else None
        parts = [f"expected {expected}", f"got {show(got)}"]
        if self.request_line:
            parts.append(f"from {self.request_line}")
        super().__init__("; ".join(parts))
