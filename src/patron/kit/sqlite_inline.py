"""SQLite in the caller's thread: the aiosqlite interface without aiosqlite's worker thread.

aiosqlite runs every call (cursor, execute, fetch, close) in a worker thread and hands the
result back through a queue, which costs a thread switch per call: about 0.1 ms on an idle
machine and over 1 ms on a loaded one, several times per statement; measured here it was most
of the purchase hot path. This module gives SQLAlchemy's aiosqlite dialect (through
``async_creator``) a connection with the same awaitable interface that calls :mod:`sqlite3`
directly. Each call blocks the event loop for as long as SQLite works: microseconds for the
indexed statements of the hot path. Writers of one process queue in the write engine's pool
(one connection, ``BEGIN IMMEDIATE``) without blocking; only a writer of *another* process
holding the lock makes a ``BEGIN IMMEDIATE`` wait in SQLite's busy handler, blocking this
process's loop meanwhile (run one server process per SQLite file for the best latency).

SQLAlchemy's aiosqlite dialect reaches into two attributes of ``aiosqlite.Connection``
(``_conn`` and ``_tx``); :class:`InlineConnection` provides them, and the whole test suite runs
through this path on SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
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
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(operation, parameters)
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

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _ImmediateQueue()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

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


def _inline_engine(url: str, begin: str, statements: Sequence[str], pool_size: int) -> AsyncEngine:
    path = make_url(url).database or ":memory:"

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, check_same_thread=False, timeout=60))

    engine = create_async_engine(
        url,
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
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
    url: str, begin: str, statements: Sequence[str], pool_size: int
) -> AsyncEngine:
    """An async engine on the aiosqlite dialect whose connections run in the caller's thread."""
    return _inline_engine(url, begin, statements, pool_size)
