"""The one exception the oracle raises: what is wrong with the bytes, and where.

An :class:`OracleError` is a *finding about data an implementation produced* (a non-canonical map, a bad
signature, an MST out of order), not a problem with the user's setup, so it is deliberately not an
:class:`atcheck.errors.AtcheckError`. Suites turn it into a conformance failure with the request as evidence.
"""

from __future__ import annotations


class OracleError(ValueError):
    """Data failed an oracle check. ``offset`` is the byte offset in the input when one applies."""

    def __init__(self, message: str, *, offset: int | None = None, context: str | None = None) -> None:
        self.problem = message
        self.offset = offset
        self.context = context
        text = message
        if offset is not None:
            text = f"{text} (at byte {offset})"
        if context:
            text = f"{context}: {text}"
        super().__init__(text)

    def within(self, context: str) -> OracleError:
        """The same finding, prefixed with where it was found (a block CID, a record path...)."""
        outer = f"{context}: {self.context}" if self.context else context
        return OracleError(self.problem, offset=self.offset, context=outer)
