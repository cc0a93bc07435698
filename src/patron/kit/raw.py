"""Driver-level statements inside a session's transaction, for the hot paths.

SQLAlchemy spends 0.4-1 ms of CPU on each statement it executes through a session (cache key,
parameter processing, result set-up, a greenlet switch); the purchase path runs about ten.
:class:`Raw` sends a fixed SQL text with positional parameters straight to the driver of the
session's own connection, so it runs in the same transaction and sees (and holds) the same
locks: :mod:`sqlite3` (through :mod:`patron.kit.sqlite_inline`) or asyncpg, whose prepared
statement cache makes a repeated text one round trip.

SQL is written once in PostgreSQL's ``$1, $2`` style; :class:`Sql` derives SQLite's ``?1, ?2``.
Parameters are what the column stores: integers, text, booleans, JSON as text
(:func:`json_text`), dates, and timezone-aware datetimes, which :class:`Raw` turns into the
text SQLAlchemy stores on SQLite (naive UTC for datetimes). Results come back as tuples of
driver values: datetimes read back from SQLite are text (read them with :func:`read_time`).

Before the first statement the session is flushed if it holds pending ORM objects, so raw
statements see rows a caller added through the ORM.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.time import ensure_utc

_PLACEHOLDER = re.compile(r"\$(\d+)")
_INFO_KEY = "patron.raw"


class Sql:
    """One statement's text for both dialects (PostgreSQL placeholders ``$n``)."""

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, text: str, *, postgresql_suffix: str = "") -> None:
        """``postgresql_suffix`` is appended on PostgreSQL only (``FOR UPDATE OF ...``: a
        SQLite write transaction already holds the database's write lock)."""
        self.postgresql = text + postgresql_suffix
        self.sqlite = _PLACEHOLDER.sub(r"?\1", text)

    @classmethod
    def per_dialect(cls, postgresql: str, sqlite: str) -> Sql:
        """Texts that differ inside, not only at the end (a row lock in a subquery)."""
        sql = cls(sqlite)
        sql.postgresql = postgresql
        return sql


def json_text(value: Any) -> str:
    """A JSON column's value as the drivers take it (compact, non-ASCII kept). orjson writes
    it several times faster than ``json`` (the same text, but for a float's exponent:
    ``1e20``, not ``1e+20``: the same number); what orjson refuses (an integer beyond 64
    bits, a key that is not a string) takes the ``json`` road."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_json(value: str | bytes | Any) -> Any:
    """A JSON column read back raw: SQLite's text parsed by orjson (what it refuses, a
    ``NaN`` that ``json.dumps`` wrote or an integer beyond 64 bits, takes the ``json`` road);
    PostgreSQL's value as asyncpg returns it, already decoded by the codec SQLAlchemy's
    dialect sets on each connection."""
    if not isinstance(value, str | bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def read_time(value: datetime | str | None) -> datetime | None:
    """A time column read back raw: aware UTC on both databases."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return ensure_utc(value)


# Cached: a batch writes the same few times again and again (the batch's "now" in the created,
# updated and event times of every row), and the text of a time costs more than its lookup.
@functools.lru_cache(maxsize=1024)
def sqlite_time_text(value: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite: the naive UTC text of
    ``"%Y-%m-%d %H:%M:%S.%f"`` (a naive value is taken as UTC)."""
    # isoformat of a UTC time ends in "+00:00"; its first 26 characters are the naive text
    # (the year always has 4 digits), without the copy that replace(tzinfo=None) makes
    return ensure_utc(value).isoformat(" ", "microseconds")[:26]


# The sqlite3 module converts what it is given by exact type, in C, and calls these for times
# and dates only: Raw hands every parameter to the driver as it is. (A conversion in Python of
# every value of every row took as long as SQLite's executemany on the members import.)
# SQLAlchemy's own statements are unaffected: its DateTime type sends SQLite text already.
# A value whose type is not exactly int, float, str, bytes or None and has no adapter takes
# the driver's slow path (it looks for a __conform__ method, and the miss raises inside):
# booleans get their adapter too, and enums are sent as their ``.value``.
sqlite3.register_adapter(datetime, sqlite_time_text)
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(bool, int)


_DRIVER_ERRORS = (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


def _translated(error: Exception, statement: str) -> exc.DBAPIError:
    """A driver error as SQLAlchemy would have raised it, so that callers catching
    ``IntegrityError``/``OperationalError``/``SQLAlchemyError`` see raw statements' errors."""
    if isinstance(error, sqlite3.IntegrityError | asyncpg.IntegrityConstraintViolationError):
        kind: type[exc.DBAPIError] = exc.IntegrityError
    elif isinstance(error, sqlite3.OperationalError | asyncpg.InterfaceError):
        kind = exc.OperationalError
    elif isinstance(error, sqlite3.ProgrammingError | asyncpg.UndefinedTableError):
        kind = exc.ProgrammingError
    else:
        kind = exc.DBAPIError
    return kind(statement, None, error)


class Raw:
    """Statements on the driver connection of one session (see the module docstring).
    Driver errors are raised as SQLAlchemy's (``IntegrityError`` and so on); each method
    catches them itself (a ``contextmanager`` around every statement cost a purchase about as
    much as one of its statements' Python)."""

    def __init__(self, driver: Any, is_sqlite: bool) -> None:
        self._driver = driver
        self.is_sqlite = is_sqlite

    async def one(self, sql: Sql, *params: Any) -> tuple[Any, ...] | None:
        """The first row of the statement's result, or ``None``."""
        try:
            if self.is_sqlite:
                cursor = self._driver.execute(sql.sqlite, params)
                row = cursor.fetchone()
                cursor.close()
                return None if row is None else tuple(row)
            record = await self._driver.fetchrow(sql.postgresql, *params)
            return None if record is None else tuple(record)
        except _DRIVER_ERRORS as error:
            raise _translated(error, sql.postgresql) from error

    async def all(self, sql: Sql, *params: Any) -> list[tuple[Any, ...]]:
        try:
            if self.is_sqlite:
                cursor = self._driver.execute(sql.sqlite, params)
                rows = cursor.fetchall()
                cursor.close()
                return [tuple(row) for row in rows]
            return [tuple(record) for record in await self._driver.fetch(sql.postgresql, *params)]
        except _DRIVER_ERRORS as error:
            raise _translated(error, sql.postgresql) from error

    async def run(self, sql: Sql, *params: Any) -> int:
        """Execute a statement without a result; returns the number of rows it changed."""
        try:
            if self.is_sqlite:
                cursor = self._driver.execute(sql.sqlite, params)
                count: int = cursor.rowcount
                cursor.close()
                return count
            status: str = await self._driver.execute(sql.postgresql, *params)
        except _DRIVER_ERRORS as error:
            raise _translated(error, sql.postgresql) from error
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0

    async def many(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        """Execute a statement once per parameter row (one driver call)."""
        try:
            if self.is_sqlite:
                self._driver.executemany(sql.sqlite, rows)
                return
            await self._driver.executemany(sql.postgresql, list(rows))
        except _DRIVER_ERRORS as error:
            raise _translated(error, sql.postgresql) from error


async def _begin_asyncpg(adapted: Any) -> None:
    """Make sure the asyncpg connection is inside the session's transaction.

    SQLAlchemy's asyncpg adapter sends ``BEGIN`` lazily, before the first statement *it*
    executes; a unit of work whose first statements are raw would otherwise run them in
    autocommit (each its own transaction, row locks released at once). This starts the
    adapter's transaction the way its cursor does (SQLAlchemy 2.0/2.1's
    ``AsyncAdapt_asyncpg_connection``); ``tests/api/test_crash.py`` and the concurrency tests
    fail on PostgreSQL if that ever changes."""
    async with adapted._execute_mutex:
        if adapted._transaction is None:
            await adapted._start_transaction()


async def raw_of(session: AsyncSession) -> Raw:
    """The :class:`Raw` of ``session``'s connection, made once per transaction (a session's
    transaction keeps one connection)."""
    sync_session = session.sync_session
    # what Session.flush itself checks first; the public ``new``/``dirty``/``deleted`` build a
    # set each (``dirty`` walks the identity map), several times per purchase
    if not sync_session._is_clean():
        await session.flush()
    # the innermost transaction: inside ``session.begin_nested()`` the first call asks the
    # session for its connection, which emits the SAVEPOINT that SQLAlchemy otherwise sends
    # only before a statement *it* executes (raw writes would escape the savepoint's rollback)
    transaction = sync_session._transaction
    cached = session.info.get(_INFO_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        raw: Raw = cached[1]
        return raw
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    driver: Any = fairy.driver_connection
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        driver = driver._conn  # patron.kit.sqlite_inline.InlineConnection's sqlite3 connection
    else:
        await _begin_asyncpg(fairy.dbapi_connection)
    raw = Raw(driver, is_sqlite)
    session.info[_INFO_KEY] = (sync_session._transaction, raw)
    return raw
