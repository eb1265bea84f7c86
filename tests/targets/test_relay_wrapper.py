"""The indigo-relay start wrapper's own logic, without the relay: host names, the database path, seeding.

The live start (migration run, seeding, exec) is tests/targets/test_indigo_relay_target.py's; these check the
parts that decide what the relay will follow, against a table shaped like the relay's ``host`` table.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from atcheck.paths import implementations_dir


def _wrapper() -> ModuleType:
    path = implementations_dir() / "indigo-relay" / "start.py"
    spec = importlib.util.spec_from_file_location("indigo_relay_start", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


start = _wrapper()

# The columns of indigo's models.Host that the wrapper writes, with the relay's unique index on hostname.
HOST_TABLE = """
CREATE TABLE host (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at DATETIME, updated_at DATETIME,
    hostname TEXT NOT NULL, no_ssl NUMERIC DEFAULT false, account_limit INTEGER,
    trusted NUMERIC DEFAULT false, status TEXT DEFAULT 'active', last_seq INTEGER DEFAULT -1,
    account_count INTEGER DEFAULT 0
);
CREATE UNIQUE INDEX idx_host_hostname ON host(hostname);
"""


def test_upstreams_become_relay_host_names() -> None:
    value = "http://localhost:2583, http://localhost:2600,,http://localhost:2583,https://pds.example"
    assert start.upstream_hosts(value) == [
        ("localhost:2583", True),
        ("localhost:2600", True),
        ("pds.example", False),
    ]
    assert start.upstream_hosts("") == []


def test_a_bad_upstream_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        start.upstream_hosts("localhost:2583")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("indigo-relay start: ATCHECK_RELAY_UPSTREAMS") and "\n" not in err


def test_the_database_path_comes_from_database_url() -> None:
    assert start.sqlite_path("sqlite:///run/data/relay.sqlite") == "/run/data/relay.sqlite"
    assert start.sqlite_path("sqlite=/run/relay.sqlite") == "/run/relay.sqlite"
    with pytest.raises(SystemExit):
        start.sqlite_path("postgres://db/relay")


def test_seeding_writes_trusted_live_hosts_and_reactivates_old_rows(tmp_path: Path) -> None:
    db = tmp_path / "relay.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(HOST_TABLE)
        conn.execute(
            "INSERT INTO host (hostname, no_ssl, account_limit, trusted, status, last_seq)"
            " VALUES ('localhost:2583', 0, 10, 0, 'offline', 42)"
        )
    start.seed_hosts(str(db), [("localhost:2583", True), ("localhost:2600", True)])
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT hostname, no_ssl, account_limit, trusted, status, last_seq FROM host ORDER BY hostname"
        ).fetchall()
    assert rows == [
        ("localhost:2583", 1, start.ACCOUNT_LIMIT, 1, "active", 42),  # an existing row keeps its cursor
        ("localhost:2600", 1, start.ACCOUNT_LIMIT, 1, "active", -1),  # a new one follows live
    ]


def test_seeding_a_database_without_the_table_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        start.seed_hosts(str(tmp_path / "empty.sqlite"), [("localhost:1", True)])
    assert exit_info.value.code == 2
