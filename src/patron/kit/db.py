"""Database plumbing shared by every domain: the declarative base, column types and the
:class:`Database` that hands out units of work.

One code path serves SQLite (the embedded default) and PostgreSQL:
- ``Database.write()`` opens a unit of work that will write. On SQLite it starts with
  ``BEGIN IMMEDIATE`` on a single pooled connection, so writers queue in the pool (asyncio
  friendly) instead of spinning in SQLite's busy handler (SQLite runs in the caller's thread:
  :mod:`patron.kit.sqlite_inline`; a lock held by another process is waited for with
  ``asyncio.sleep``, never in the loop's thread); on PostgreSQL it is a plain
  transaction and row locks (``SELECT ... FOR UPDATE``) serialise writers of one account.
- ``Database.read()`` opens a read-only unit of work (never commits).
Every engine is created with ``hide_parameters=True``: a database error's message (in a log,
a traceback, a dead letter's ``last_error``) names the statement but never its parameters,
which hold members' personal data and key hashes (issue 16).
The unit of work commits when its block exits cleanly and rolls back on an exception.
``Database.write_again_on_deadlock(work)`` runs ``work`` in a unit of work, and again in a new
one when PostgreSQL rolled it back to break a deadlock (:func:`is_deadlock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData, exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from patron.kit.sqlite_inline import DEFAULT_BUSY_TIMEOUT, inline_sqlite_engine
from patron.kit.time import ensure_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_DATABASE = "patron.db"

# Primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")


def value_enum(kind: type[StrEnum], name: str, *, length: int = 16) -> Enum:
    """A ``StrEnum`` column stored as the member's value (``"ru"``, not ``"RU"``) in a VARCHAR
    with a CHECK constraint named ``name`` (portable: no native PostgreSQL enum type)."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps them naive in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = ensure_utc(value)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


def database_url(value: str | None = None) -> str:
    """Normalise what a user typed into an async SQLAlchemy URL.

    ``None`` means ``PATRON_DATABASE_URL`` or else ``./patron.db``; a bare path means a SQLite
    file; ``sqlite://`` and ``postgresql://`` get their async drivers (aiosqlite, asyncpg).
    """
    raw = value or os.environ.get("PATRON_DATABASE_URL") or DEFAULT_DATABASE
    if "://" not in raw:
        return f"sqlite+aiosqlite:///{Path(raw).expanduser()}"
    url = make_url(raw)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
    if url.drivername in driver:
        url = url.set(drivername=driver[url.drivername])
    elif url.drivername.startswith("postgresql+") and url.drivername != "postgresql+asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",
)  # no busy_timeout: a lock is waited for with asyncio.sleep (kit/sqlite_inline.py)


T = TypeVar("T")
_DEADLOCK = "40P01"


def is_deadlock(error: BaseException) -> bool:
    """PostgreSQL chose this statement's transaction to break a deadlock (``40P01``); it
    aborted the statement, and the transaction (or its savepoint) must be rolled back."""
    if not isinstance(error, exc.DBAPIError):
        return False
    return any(
        getattr(cause, "sqlstate", None) == _DEADLOCK or getattr(cause, "pgcode", None) == _DEADLOCK
        for cause in (error.orig, error.__cause__, getattr(error.orig, "__cause__", None))
    )


DEADLOCK_PAUSE_SECONDS = (0.005, 0.05)


async def pause_after_deadlock() -> None:
    """Before a deadlock's victim runs again: let the winner, woken when the victim's locks
    were released, take them first. Run again at once, the victim can take its first row
    back and lose the same deadlock a second time (seen in CI)."""
    await asyncio.sleep(random.uniform(*DEADLOCK_PAUSE_SECONDS))


class Database:
    """Engines and units of work for one database URL."""

    def __init__(
        self,
        url: str | None = None,
        *,
        pool_size: int = 10,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        """``busy_timeout``: on SQLite, how many seconds a statement waits (without blocking
        the event loop) for a lock another process holds before it fails."""
        self.url = database_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.is_sqlite:
            create_private_sqlite_file(self.url)
            self.write_engine = inline_sqlite_engine(
                self.url, "BEGIN IMMEDIATE", _PRAGMAS, 1, busy_timeout
            )
            self.read_engine = inline_sqlite_engine(
                self.url, "BEGIN", _PRAGMAS, pool_size, busy_timeout
            )
        else:
            self.write_engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=False,
                hide_parameters=True,
            )
            self.read_engine = self.write_engine
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that writes: commits on success, rolls back on any exception."""
        async with self._write() as session, session.begin():
            yield session

    async def write_again_on_deadlock(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, attempts: int = 3
    ) -> T:
        """``work(session)`` in a unit of work (:meth:`write`); when PostgreSQL chose it as the
        victim of a deadlock, its transaction was rolled back whole (its locks released, the
        other transactions went on), and it runs again from the start in a new one, at most
        ``attempts`` times in all. ``work`` must not have effects outside its transaction."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.write() as session:
                    return await work(session)
            except exc.DBAPIError as error:
                if attempt == attempts or not is_deadlock(error):
                    raise
            await pause_after_deadlock()
        raise AssertionError("unreachable: the last attempt returns or raises")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work; it is always rolled back."""
        async with self._read() as session:
            try:
                yield session
            finally:
                await session.rollback()

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


def null_pool_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-shot administrative work."""
    create_private_sqlite_file(url)
    return create_async_engine(database_url(url), poolclass=NullPool, hide_parameters=True)


def create_private_sqlite_file(url: str) -> None:
    """Create a SQLite database file that does not exist yet readable by its owner alone
    (mode 0600: it holds every member's personal data; SQLite gives its WAL and shared-memory
    files the database file's mode). An existing file keeps its mode."""
    parsed = make_url(database_url(url))
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if path.startswith("file:") or not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return  # a URI or a missing directory: SQLite says what is wrong when it opens it
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
