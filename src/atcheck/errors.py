"""Errors that atcheck reports to a user as one line, never as a traceback.

Every failure that is the user's or the environment's doing (a bad manifest, a missing Node, a port in use, an
unreachable target) is raised as an :class:`AtcheckError`. The CLI catches it, prints ``atcheck: <message>``
and exits with :attr:`AtcheckError.exit_code` (2 for usage and setup errors).
"""

from __future__ import annotations


class AtcheckError(Exception):
    """A problem that atcheck explains to the user in one line."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(AtcheckError):
    """The command line or an input file is wrong."""


class ManifestError(UsageError):
    """A target manifest is missing, unreadable or invalid."""


class SetupError(AtcheckError):
    """The machine lacks something a target needs (Node, a port, a Docker engine...)."""


class LaunchError(AtcheckError):
    """A target was started but did not come up: it exited, or never became ready."""


class TargetUnreachable(AtcheckError):
    """A URL target did not answer."""


class CatalogueError(UsageError):
    """The requirement catalogue is malformed, or a test names an unknown requirement ID."""
