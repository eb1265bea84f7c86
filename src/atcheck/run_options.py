"""What a run is asked to do, as one value: the CLI builds it, the pytest plugin reads it.

``atcheck run`` parses its flags into a :class:`RunOptions` (targets parsed once, credentials as values) and
hands it to pytest inside a :class:`RunHandoff`; the plugin hands back the report it built, whose verdict
gives the exit status. A bare ``pytest suites --atcheck-target ...`` builds the same value from pytest's
options and the ``ATCHECK_*`` variables, so both entry points run the same code from there on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atcheck.report.model import RunReport
from atcheck.shard import Shard
from atcheck.targets.model import Credentials
from atcheck.targets.spec import TargetSpec

#: Credential field -> the environment variable a user may give it in (kept out of the process list).
CREDENTIAL_VARIABLES = {
    "admin_password": "ATCHECK_ADMIN_PASSWORD",
    "account_handle": "ATCHECK_ACCOUNT_HANDLE",
    "account_password": "ATCHECK_ACCOUNT_PASSWORD",
    "invite_code": "ATCHECK_INVITE_CODE",
}


def credentials_from(
    environ: Mapping[str, str], given: Mapping[str, str | None] | None = None
) -> Credentials:
    """Credentials for URL targets: ``given`` values (command-line flags) first, else the variables."""
    given = given or {}
    values = {name: given.get(name) or environ.get(var) or None for name, var in CREDENTIAL_VARIABLES.items()}
    return Credentials(**values)


@dataclass(frozen=True)
class RunOptions:
    """One run's inputs. ``targets`` are parsed specs; an empty tuple means the default targets."""

    targets: tuple[TargetSpec, ...] = ()
    requirements: tuple[str, ...] = ()  # only tests of these requirement IDs
    report_dir: Path | None = None  # None: reports/<run-id>/, with reports/latest pointing at it
    baseline: Path | None = None  # known failures (TOML)
    shard: Shard | None = None  # run only this shard's (target, suite) groups (atcheck.shard)


@dataclass(eq=False)  # pytest keeps plugins in sets: compared and hashed by identity
class RunHandoff:
    """Registered with pytest by ``atcheck run``: the options go in, the report the plugin built comes out."""

    options: RunOptions
    report: RunReport | None = field(default=None)
