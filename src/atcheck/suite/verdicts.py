"""Turning what atcheck's oracle finds into a conformance failure that names the request behind it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from atcheck.checks import ConformanceFailure
from atcheck.oracle.errors import OracleError
from atcheck.xrpc.client import XrpcResponse

__all__ = ["oracle_verdict"]


@contextmanager
def oracle_verdict(what: str, resp: XrpcResponse | None = None) -> Iterator[None]:
    """Inside this block an :class:`OracleError` about server-produced data becomes a
    :class:`ConformanceFailure`: expected ``what``, got the oracle's finding, from ``resp`` when given."""
    try:
        yield
    except OracleError as exc:
        raise ConformanceFailure(what, str(exc), resp) from None
