"""PostgreSQL backups with ``pg_dump --format=custom`` and restores with ``pg_restore``.

``pg_dump`` reads one snapshot (a repeatable-read transaction) and takes only ACCESS SHARE
locks: purchases keep committing while it runs, and everything committed before it started is
in the file. The tools come from ``PATH`` or else from ``/usr/lib/postgresql/*/bin`` (newest
first); a tool whose major version is older than the server's is refused before it runs. The
connection comes from the SQLAlchemy URL as libpq options; the password travels in
``PGPASSWORD`` (the environment of the child), never on a command line.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from patron.kit.backup import (
    REVISION_TABLE,
    BackupError,
    BackupInvalidError,
    DatabaseInUseError,
    DatabaseNotFoundError,
    RestoreTargetNotEmptyError,
    replace_durably,
    temporary_beside,
)
from patron.kit.db import database_url, null_pool_engine

TOOL_DIRECTORIES = "/usr/lib/postgresql/*/bin"
MAINTENANCE_DATABASE = "postgres"


class PostgresToolError(BackupError):
    code = "pg_tool_unavailable"


def libpq_connection(url: str) -> tuple[list[str], dict[str, str]]:
    """Command-line options (host, port, user, database) and environment (password, SSL mode)
    for the PostgreSQL tools, from a SQLAlchemy URL."""
    parsed = make_url(database_url(url))
    query = {key: str(value) for key, value in parsed.query.items()}
    options = ["--no-password"]
    host = parsed.host or query.get("host")
    if host:
        options.append(f"--host={host}")
    if parsed.port:
        options.append(f"--port={parsed.port}")
    if parsed.username:
        options.append(f"--username={parsed.username}")
    options.append(f"--dbname={parsed.database or MAINTENANCE_DATABASE}")
    environment = dict(os.environ)
    environment.pop("PGPASSWORD", None)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    ssl_mode = query.get("sslmode") or query.get("ssl")
    if ssl_mode:
        environment["PGSSLMODE"] = ssl_mode
    return options, environment


def tool_major(path: str) -> int | None:
    """The major version a PostgreSQL tool reports (``pg_dump (PostgreSQL) 15.18`` -> 15)."""
    try:
        output = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\)\s+(\d+)", output)
    return int(found.group(1)) if found else None


def tool_candidates(name: str) -> list[str]:
    """``name`` on PATH first, then in the installed servers' directories, newest first."""
    found = [shutil.which(name)]
    directories = sorted(
        glob.glob(TOOL_DIRECTORIES),
        key=lambda directory: [int(part) for part in re.findall(r"\d+", directory)],
        reverse=True,
    )
    found += [str(Path(directory) / name) for directory in directories]
    unique: list[str] = []
    for path in found:
        if path and os.access(path, os.X_OK) and path not in unique:
            unique.append(path)
    return unique


def choose_tool(name: str, versions: dict[str, int | None], minimum_major: int) -> str:
    """The first candidate (in ``versions``' order) at least as new as the server."""
    for path, major in versions.items():
        if major is not None and major >= minimum_major:
            return path
    if not versions:
        raise PostgresToolError(
            f"{name} is not on PATH nor in {TOOL_DIRECTORIES}: install the PostgreSQL "
            f"client tools, version {minimum_major} or newer"
        )
    seen = ", ".join(f"{path} ({major or 'unknown'})" for path, major in versions.items())
    raise PostgresToolError(
        f"{name} must be version {minimum_major} or newer (the server's), found {seen}: "
        f"install postgresql-client-{minimum_major}"
    )


def find_tool(name: str, minimum_major: int) -> str:
    versions = {path: tool_major(path) for path in tool_candidates(name)}
    return choose_tool(name, versions, minimum_major)


async def _run(
    arguments: list[str], environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, arguments, capture_output=True, text=True, env=environment, check=False
    )


def _last_lines(output: str) -> str:
    return " | ".join(line for line in output.strip().splitlines()[-3:])


async def _scalar(url: str, statement: str, parameters: dict[str, str] | None = None) -> object:
    engine = null_pool_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(statement), parameters or {})).scalar()
    finally:
        await engine.dispose()


def _maintenance_url(url: str) -> tuple[str, str]:
    parsed: URL = make_url(database_url(url))
    name = parsed.database or MAINTENANCE_DATABASE
    return parsed.set(database=MAINTENANCE_DATABASE).render_as_string(False), name


async def server_major(url: str) -> int:
    """The server's major version (also the first contact: a database that cannot be reached
    is reported here)."""
    try:
        number = await _scalar(url, "SHOW server_version_num")
    except (DBAPIError, OSError) as error:
        reason = getattr(error, "orig", None) or error
        raise DatabaseNotFoundError(f"cannot open the database: {reason}", field="db") from error
    return int(str(number)) // 10000


async def backup_postgres(url: str, file: Path) -> str:
    """``pg_dump --format=custom`` into a file beside ``file``, checked by reading it back
    with ``pg_restore``, then renamed to ``file``; returns its schema revision."""
    major = await server_major(url)
    dump = find_tool("pg_dump", major)
    options, environment = libpq_connection(url)
    with temporary_beside(file) as temporary:
        done = await _run([dump, "--format=custom", f"--file={temporary}", *options], environment)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {_last_lines(done.stderr)}")
        revision = await inspect_postgres_backup(url, temporary)
        replace_durably(temporary, file)
    return revision


async def inspect_postgres_backup(url: str, file: Path) -> str:
    """The schema revision inside a ``pg_dump`` archive, read by ``pg_restore`` without a
    database (which also proves the archive readable)."""
    major = await server_major(_maintenance_url(url)[0])
    restore = find_tool("pg_restore", major)
    done = await _run(
        [restore, "--data-only", f"--table={REVISION_TABLE}", "--file=-", str(file)],
        dict(os.environ),
    )
    if done.returncode != 0:
        raise BackupInvalidError(
            f"{file} is not a readable pg_dump archive: {_last_lines(done.stderr)}",
            field="file",
        )
    found = re.search(
        rf"COPY \S*{REVISION_TABLE} \(version_num\) FROM stdin;\n(\S+)\n", done.stdout
    )
    if found is None:
        raise BackupInvalidError(f"{file} is not a Patron backup", field="file")
    return found.group(1)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _target_state(url: str) -> tuple[bool, int]:
    """Whether any table besides the revision has a row, and how many other client sessions
    are connected to the database."""
    engine = null_pool_engine(url)
    try:
        async with engine.connect() as connection:
            tables = (
                await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                        " AND tablename <> :revision"
                    ),
                    {"revision": REVISION_TABLE},
                )
            ).scalars()
            holds_data = False
            for table in tables.all():
                probe = f"SELECT EXISTS (SELECT 1 FROM {_quoted(table)})"
                if (await connection.execute(text(probe))).scalar():
                    holds_data = True
                    break
            sessions = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return holds_data, int(sessions)


async def _create_or_check(url: str, *, replace: bool) -> bool:
    """Create the target database when it is missing (True), else refuse it if it holds data
    (without ``replace``) or if another session uses it."""
    maintenance, name = _maintenance_url(url)
    exists = await _scalar(
        maintenance, "SELECT 1 FROM pg_database WHERE datname = :name", {"name": name}
    )
    if exists:
        holds_data, sessions = await _target_state(url)
        if holds_data and not replace:
            raise RestoreTargetNotEmptyError(
                f"database {name} holds data; pass --yes to replace it with the backup",
                field="db",
            )
        if sessions:
            raise DatabaseInUseError(
                f"database {name} has {sessions} other session(s) (a running patron serve?): "
                "stop them first",
                field="db",
            )
        return False
    engine = null_pool_engine(maintenance)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f"CREATE DATABASE {_quoted(name)}"))
    finally:
        await engine.dispose()
    return True


async def _drop(url: str) -> None:
    maintenance, name = _maintenance_url(url)
    engine = null_pool_engine(maintenance)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)}"))
    finally:
        await engine.dispose()


async def restore_postgres(url: str, file: Path, *, replace: bool) -> None:
    """``pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction`` into
    the database of ``url``, created when missing (and dropped again if the restore fails)."""
    major = await server_major(_maintenance_url(url)[0])
    restore = find_tool("pg_restore", major)
    created = await _create_or_check(url, replace=replace)
    options, environment = libpq_connection(url)
    done = await _run(
        [
            restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *options,
            str(file),
        ],
        environment,
    )
    if done.returncode != 0:
        if created:
            await _drop(url)
        raise BackupError(f"pg_restore failed: {_last_lines(done.stderr)}", field="file")
