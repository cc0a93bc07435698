"""SQLite in the caller's thread: the aiosqlite interface without aiosqlite's worker thread.

aiosqlite runs every call (cursor, execute, fetch, close) in a worker thread and hands the
result back through a queue, which costs a thread switch per call: about 0.1 ms on an idle
machine and over 1 ms on a loaded one, several times per statement; measured here it was most
of the purchase hot path. This module gives SQLAlchemy's aiosqlite dialect (through
``async_creator``) a connection with the same awaitable interface that calls :mod:`sqlite3`
directly. Each call blocks the event loop for as long as SQLite works: microseconds for the
indexed statements of the hot path.

Lock waits never block the loop. Writers of one process queue in the write engine's pool (one
connection, ``BEGIN IMMEDIATE``) without blocking. A writer of *another* process (a second
server worker, ``patron`` run from the command line, a backup) holding the write lock would
make ``BEGIN IMMEDIATE`` wait in SQLite's busy handler, a sleep in the loop's thread that froze
every request of the process (4.2 s in issue 16). So these connections run with
``busy_timeout=0``: a statement that finds the database locked fails at once with
``SQLITE_BUSY``, and :class:`InlineCursor` sleeps with ``asyncio.sleep`` (1 ms doubling to
50 ms) and runs it again, until the connection's busy timeout (60 s unless the ``Database``
is given another) has passed; then it raises :class:`DatabaseBusyError`, which the API answers
with 503 ``database_busy``. Only statements that had no effect are run again: with
``busy_timeout=0`` SQLite refuses a statement that needs a lock before it changes anything,
and a ``BEGIN IMMEDIATE`` takes the write lock at the start, so its later statements never
meet a lock (a read transaction's ``SQLITE_BUSY_SNAPSHOT``, which waiting cannot cure, is
raised at once).

SQLAlchemy's aiosqlite dialect reaches into two attributes of ``aiosqlite.Connection``
(``_conn`` and ``_tx``); :class:`InlineConnection` provides them, and the whole test suite runs
through this path on SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

T = TypeVar("T")


DEFAULT_BUSY_TIMEOUT = 60.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05
_SQLITE_BUSY_SNAPSHOT = 517  # a read snapshot too old to write from: waiting cannot help


class DatabaseBusyError(sqlite3.OperationalError):
    """Another connection held the lock a statement needed for longer than the busy timeout
    (``SQLITE_BUSY``, retried without blocking the loop until then)."""


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code: int | None = getattr(error, "sqlite_errorcode", None)
    if code is None:  # not from SQLite's C library (Python < 3.11 has no codes)
        return "database is locked" in str(error)
    return code & 0xFF == sqlite3.SQLITE_BUSY and code != _SQLITE_BUSY_SNAPSHOT


async def _patiently(call: Callable[[], T], busy_timeout: float) -> T:
    """``call()``, run again after an ``asyncio.sleep`` each time it finds the database
    locked, for at most ``busy_timeout`` seconds (see the module docstring)."""
    try:
        return call()
    except sqlite3.OperationalError as error:
        if not _is_busy(error):
            raise
    deadline = time.monotonic() + busy_timeout
    pause = _FIRST_PAUSE
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DatabaseBusyError(
                f"database is locked: another connection held the lock for more than "
                f"{busy_timeout:g} s (the busy timeout)"
            )
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, _LONGEST_PAUSE)
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, busy_timeout: float) -> None:
        self._cursor = cursor
        self._busy_timeout = busy_timeout
        self.arraysize = cursor.arraysize

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, operation: str, parameters: Any = ()) -> InlineCursor:
        try:  # the common case without a closure
            self._cursor.execute(operation, parameters)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            await _patiently(
                lambda: self._cursor.execute(operation, parameters), self._busy_timeout
            )
        return self

    async def executemany(self, operation: str, parameters: Iterable[Any]) -> InlineCursor:
        if not self._cursor.connection.in_transaction:
            # outside a transaction each row commits alone: a lock met after the first row
            # cannot be waited out by running them all again
            self._cursor.executemany(operation, parameters)
            return self
        rows = parameters if isinstance(parameters, Sequence) else list(parameters)
        await _patiently(lambda: self._cursor.executemany(operation, rows), self._busy_timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def nextset(self) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class _ImmediateQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation
    level: the function runs at once and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """The parts of ``aiosqlite.Connection`` that SQLAlchemy's dialect calls."""

    def __init__(
        self, connection: sqlite3.Connection, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._busy_timeout = busy_timeout
        self._tx = _ImmediateQueue()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self._busy_timeout)

    async def commit(self) -> None:
        await _patiently(self._conn.commit, self._busy_timeout)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def _inline_engine(
    url: str, begin: str, statements: Sequence[str], pool_size: int, busy_timeout: float
) -> AsyncEngine:
    path = make_url(url).database or ":memory:"

    async def connect() -> InlineConnection:
        # timeout=0: SQLite's busy handler never sleeps in the loop's thread (module docstring)
        return InlineConnection(
            sqlite3.connect(path, check_same_thread=False, timeout=0), busy_timeout
        )

    engine = create_async_engine(
        url,
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=max(busy_timeout, 1.0),
        hide_parameters=True,  # errors never quote personal data (kit/db.py)
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def inline_sqlite_engine(
    url: str,
    begin: str,
    statements: Sequence[str],
    pool_size: int,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> AsyncEngine:
    """An async engine on the aiosqlite dialect whose connections run in the caller's thread;
    a statement finding the database locked is retried without blocking the loop for at most
    ``busy_timeout`` seconds, then raises :class:`DatabaseBusyError`. ``statements`` must not
    set ``busy_timeout`` (it stays 0)."""
    return _inline_engine(url, begin, statements, pool_size, busy_timeout)
