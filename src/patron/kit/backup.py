"""Copies of a whole database taken while it serves, and restores of them.

SQLite (here): the online backup API of the process's own :mod:`sqlite3` (never a second SQLite
library, never a file copy: see DESIGN.md, pitfalls). The copy reads one snapshot: the source
connection opens a read transaction first and the backup steps through the pages inside it.
In WAL mode a reader never blocks writers, so the server keeps committing meanwhile (the WAL
only grows until the copy ends). Without the held snapshot, every commit of another connection
between two steps would restart the copy from page one, and a busy server would keep it from
ever finishing. The copy is written to a temporary file beside FILE, switched to a single file
(rollback journal), checked with ``PRAGMA integrity_check`` and only then renamed to FILE.

PostgreSQL: ``pg_dump`` / ``pg_restore`` (:mod:`patron.kit.pg_backup`).

A restore writes into the target in one transaction (SQLite's backup API into the target, or
``pg_restore --single-transaction``): it happens whole or not at all. It refuses a target that
holds data unless ``replace`` is set, and a target that another connection uses.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from patron.kit.errors import ConflictError, NotFoundError, PatronError

# Pages copied per step (4 KB pages: 4 MB); the snapshot is held across the steps.
STEP_PAGES = 1024
REVISION_TABLE = "alembic_version"


class BackupError(PatronError):
    code = "backup_failed"
    status = 500


class BackupFileExistsError(ConflictError):
    code = "backup_file_exists"


class BackupNotFoundError(NotFoundError):
    code = "backup_not_found"


class BackupInvalidError(PatronError):
    code = "backup_invalid"
    status = 422


class DatabaseNotFoundError(NotFoundError):
    code = "database_not_found"


class RestoreTargetNotEmptyError(ConflictError):
    code = "restore_target_not_empty"


class DatabaseInUseError(ConflictError):
    code = "database_in_use"


@dataclass(frozen=True, slots=True)
class BackupReport:
    file: str
    size_bytes: int
    revision: str
    seconds: float


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up", field="db")
    return Path(database)


async def backup_database(url: str, file: Path, *, replace: bool = False) -> BackupReport:
    """Copy the database at ``url`` into ``file`` (refused if ``file`` exists, unless
    ``replace``: then it is replaced only by a copy that passed its check)."""
    with _file_errors(file):
        if file.exists() and not replace:
            raise BackupFileExistsError(
                f"{file} exists; choose a new name or pass --force to replace it", field="file"
            )
        if not file.parent.is_dir():
            raise BackupError(f"directory {file.parent} does not exist", field="file")
        started = time.monotonic()
        if is_sqlite(url):
            revision = backup_sqlite(sqlite_path(url), file)
        else:
            from patron.kit.pg_backup import backup_postgres

            revision = await backup_postgres(url, file)
        size = file.stat().st_size
    return BackupReport(str(file), size, revision, time.monotonic() - started)


@contextmanager
def _file_errors(file: Path) -> Iterator[None]:
    """The system's refusal of ``file`` (a name too long, no permission, a full disk) as a
    :class:`BackupError` naming it, not a traceback."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        raise BackupError(f"cannot use {file}: {reason}", field="file") from error


async def inspect_backup(url: str, file: Path) -> str:
    """The schema revision a backup holds; raises if it is missing or not a readable backup
    for the database kind of ``url``. Reads the file only."""
    with _file_errors(file):
        if not file.is_file():
            raise BackupNotFoundError(f"no backup file {file}", field="file")
    if is_sqlite(url):
        return inspect_sqlite_backup(file)
    from patron.kit.pg_backup import inspect_postgres_backup

    return await inspect_postgres_backup(url, file)


async def restore_database(url: str, file: Path, *, replace: bool = False) -> None:
    """Write the backup ``file`` into the database at ``url`` (created when missing)."""
    if is_sqlite(url):
        restore_sqlite(file, sqlite_path(url), replace=replace)
    else:
        from patron.kit.pg_backup import restore_postgres

        await restore_postgres(url, file, replace=replace)


def _connect(path: Path, mode: str, *, timeout: float = 60) -> sqlite3.Connection:
    """A connection that never creates ``path`` unless ``mode`` is ``rwc``."""
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=timeout, isolation_level=None
    )


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        rows = connection.execute(f"SELECT version_num FROM {REVISION_TABLE}").fetchall()
    except sqlite3.OperationalError:  # no such table: not a Patron database
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def _check_integrity(connection: sqlite3.Connection) -> list[str]:
    """The problems ``PRAGMA integrity_check`` reports (empty: the file is sound)."""
    rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def _same_file(first: Path, second: Path) -> bool:
    return first.exists() and second.exists() and os.path.samefile(first, second)


@contextmanager
def temporary_beside(file: Path) -> Iterator[Path]:
    """A fresh empty file in ``file``'s directory, readable by its owner alone (mode 0600: a
    copy of the database holds every member's personal data), removed afterwards unless it
    was renamed."""
    temporary = file.with_name(f".{file.name}.{secrets.token_hex(4)}.partial")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield temporary
    finally:
        for leftover in [
            temporary,
            *(Path(f"{temporary}-{end}") for end in ("journal", "wal", "shm")),
        ]:
            with suppress(FileNotFoundError):
                leftover.unlink()


def replace_durably(temporary: Path, file: Path) -> None:
    os.chmod(temporary, 0o600)  # whatever made it (pg_dump) kept the mode of the empty file
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, file)
    directory = os.open(file.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def backup_sqlite(
    source: Path,
    file: Path,
    *,
    step_pages: int = STEP_PAGES,
    progress: Callable[[int, int], object] | None = None,
) -> str:
    """Copy the SQLite database ``source`` into ``file`` from one snapshot (see the module
    docstring); returns the schema revision of the copy. ``progress(remaining, total)`` is
    called with the page counts after each step."""
    if not source.is_file():
        raise DatabaseNotFoundError(f"no SQLite database at {source}", field="db")
    if _same_file(source, file):
        raise BackupError("the backup file is the database itself", field="file")
    with temporary_beside(file) as temporary:
        try:
            revision, problems = _copy_snapshot(source, temporary, step_pages, progress)
        except sqlite3.Error as error:  # disk full, a damaged source, ...
            raise BackupError(f"cannot copy {source}: {error}") from error
        if problems:
            raise BackupError(f"the copy failed its integrity check: {problems[:3]}")
        replace_durably(temporary, file)
    return revision


def _copy_snapshot(
    source: Path,
    temporary: Path,
    step_pages: int,
    progress: Callable[[int, int], object] | None,
) -> tuple[str, list[str]]:
    with closing(_connect(source, "rw")) as reader, closing(_connect(temporary, "rwc")) as copy:
        reader.execute("BEGIN")  # the snapshot starts with the first read, just below
        revision = _revision(reader)
        if revision is None:
            raise BackupError(f"{source} is not a Patron database", field="db")
        reader.backup(
            copy,
            pages=step_pages,
            progress=None if progress is None else lambda _, left, total: progress(left, total),
        )
        reader.execute("COMMIT")
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        return revision, _check_integrity(copy)


def inspect_sqlite_backup(file: Path) -> str:
    """The revision of a SQLite backup after ``PRAGMA integrity_check`` passed on it."""
    try:
        with closing(_connect(file, "ro")) as backup:
            problems = _check_integrity(backup)
            revision = _revision(backup)
    except sqlite3.DatabaseError as error:
        raise BackupInvalidError(
            f"{file} is not a readable SQLite backup: {error}", field="file"
        ) from error
    if problems:
        raise BackupInvalidError(f"{file} is damaged: {problems[:3]}", field="file")
    if revision is None:
        raise BackupInvalidError(f"{file} is not a Patron backup", field="file")
    return revision


def _holds_data(connection: sqlite3.Connection) -> bool:
    """Whether any table (besides the schema revision) has a row."""
    tables = connection.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND name <> ?",
        (REVISION_TABLE,),
    ).fetchall()
    quoted = ['"' + str(name).replace('"', '""') + '"' for (name,) in tables]
    return any(connection.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in quoted)


def _claim_target(target: sqlite3.Connection, path: Path) -> None:
    """Leave WAL mode, which SQLite refuses while another connection has the file open
    (a server, a job): the cheap test that nobody uses the target."""
    mode = target.execute("PRAGMA journal_mode").fetchone()[0]
    try:
        if mode == "wal":
            mode = target.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        target.execute("BEGIN IMMEDIATE")
        target.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        raise DatabaseInUseError(
            f"{path} is open in another process (a running patron serve?): stop it first",
            field="db",
        ) from error
    if mode == "wal":
        raise DatabaseInUseError(f"{path} is open in another process: stop it first", field="db")


def restore_sqlite(file: Path, path: Path, *, replace: bool) -> None:
    """Write the SQLite backup ``file`` into the database at ``path`` (created when missing)
    in one transaction; the target is left in WAL mode and checked."""
    if _same_file(file, path):
        raise BackupError("the backup file is the database itself", field="db")
    if not path.parent.is_dir():
        raise BackupError(f"directory {path.parent} does not exist", field="db")
    existed = path.exists()
    try:
        with closing(_connect(path, "rw" if existed else "rwc", timeout=0)) as target:
            if existed and _holds_data(target) and not replace:
                raise RestoreTargetNotEmptyError(
                    f"{path} holds data; pass --yes to replace it with the backup", field="db"
                )
            _claim_target(target, path)
            with closing(_connect(file, "ro")) as backup:
                backup.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
            problems = _check_integrity(target)
    except sqlite3.DatabaseError as error:
        if not existed:
            path.unlink(missing_ok=True)
        raise BackupError(f"cannot restore into {path}: {error}", field="db") from error
    if problems:
        raise BackupError(f"the restored database failed its integrity check: {problems[:3]}")
