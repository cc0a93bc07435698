"""The copying under ``patron backup``: SQLite's backup API from one held snapshot, and the
choice of the PostgreSQL tools (the commands end to end: tests/cli/test_backup.py)."""

from __future__ import annotations

import math
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from patron.kit.backup import BackupError, backup_sqlite, inspect_sqlite_backup
from patron.kit.pg_backup import PostgresToolError, choose_tool, find_tool, libpq_connection


def _source(path: Path, rows: int) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0007')")
        connection.execute("CREATE TABLE facts (id INTEGER PRIMARY KEY, payload BLOB)")
        connection.executemany(
            "INSERT INTO facts (payload) VALUES (?)", [(bytes(500),) for _ in range(rows)]
        )


def test_the_copy_reads_one_snapshot_while_a_writer_commits_between_its_steps(
    tmp_path: Path,
) -> None:
    """A writer of another connection commits after every step without waiting (busy timeout
    0); the copy never restarts (remaining pages only fall) and holds the rows of the moment it
    started, not the ones committed during the copy."""
    source, file = tmp_path / "live.db", tmp_path / "copy.db"
    _source(source, 2000)
    writer = sqlite3.connect(source, timeout=0, isolation_level=None)
    steps: list[tuple[int, int]] = []

    def between_steps(remaining: int, total: int) -> None:
        steps.append((remaining, total))
        writer.execute("INSERT INTO facts (payload) VALUES (x'01')")

    with closing(writer):
        assert backup_sqlite(source, file, step_pages=50, progress=between_steps) == "0007"
        committed = writer.execute("SELECT count(*) FROM facts").fetchone()[0]
    total = steps[0][1]
    assert total > 200
    assert [remaining for remaining, _ in steps] == [
        max(total - 50 * step, 0) for step in range(1, math.ceil(total / 50) + 1)
    ]
    assert committed == 2000 + len(steps)
    with closing(sqlite3.connect(file)) as copy:
        assert copy.execute("SELECT count(*) FROM facts").fetchone()[0] == 2000
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy.db", "live.db"]
    assert inspect_sqlite_backup(file) == "0007"


def test_a_backup_onto_the_database_itself_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    _source(source, 3)
    before = source.read_bytes()
    with pytest.raises(BackupError, match="the backup file is the database itself"):
        backup_sqlite(source, source)
    assert source.read_bytes() == before


def test_a_database_without_a_schema_revision_is_not_backed_up(tmp_path: Path) -> None:
    source, file = tmp_path / "other.db", tmp_path / "copy.db"
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(BackupError, match="is not a Patron database"):
        backup_sqlite(source, file)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.db"]


@pytest.mark.parametrize(
    ("versions", "server", "chosen"),
    [
        (
            {"/usr/bin/pg_dump": 15, "/usr/lib/postgresql/16/bin/pg_dump": 16},
            15,
            "/usr/bin/pg_dump",
        ),
        (
            {"/usr/bin/pg_dump": 13, "/usr/lib/postgresql/16/bin/pg_dump": 16},
            16,
            "/usr/lib/postgresql/16/bin/pg_dump",
        ),
        ({"/usr/bin/pg_dump": None, "/opt/pg_dump": 17}, 14, "/opt/pg_dump"),
    ],
)
def test_the_first_tool_as_new_as_the_server_is_chosen(
    versions: dict[str, int | None], server: int, chosen: str
) -> None:
    assert choose_tool("pg_dump", versions, server) == chosen


def test_a_tool_older_than_the_server_is_refused_with_what_was_found() -> None:
    with pytest.raises(PostgresToolError) as older:
        choose_tool("pg_dump", {"/usr/bin/pg_dump": 13, "/x/pg_dump": None}, 15)
    assert older.value.message == (
        "pg_dump must be version 15 or newer (the server's), found /usr/bin/pg_dump (13), "
        "/x/pg_dump (unknown): install postgresql-client-15"
    )
    with pytest.raises(PostgresToolError, match="pg_restore is not on PATH nor in"):
        choose_tool("pg_restore", {}, 15)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="no PostgreSQL client tools")
def test_the_installed_tools_are_found_and_a_future_server_is_refused() -> None:
    assert Path(find_tool("pg_dump", 9)).name == "pg_dump"
    with pytest.raises(PostgresToolError, match="pg_restore must be version 99 or newer"):
        find_tool("pg_restore", 99)


def test_the_password_goes_to_the_environment_never_to_the_command_line() -> None:
    options, environment = libpq_connection(
        "postgresql://shop:s3cret@db.example:6543/loyalty?sslmode=require"
    )
    assert options == [
        "--no-password",
        "--host=db.example",
        "--port=6543",
        "--username=shop",
        "--dbname=loyalty",
    ]
    assert environment["PGPASSWORD"] == "s3cret"
    assert environment["PGSSLMODE"] == "require"
    socket_options, socket_environment = libpq_connection("postgresql:///loyalty?host=/run/pg")
    assert socket_options == ["--no-password", "--host=/run/pg", "--dbname=loyalty"]
    assert "PGPASSWORD" not in socket_environment
