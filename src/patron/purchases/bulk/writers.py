"""Writing a batch with the raw database driver, inside the caller's unit of work.

- SQLite: ``executemany`` on the unit of work's connection (which holds the write lock from
  ``BEGIN IMMEDIATE``); ids continue from ``MAX(id)``, safe under that lock; times are
  stored as SQLAlchemy stores them (naive UTC text with microseconds).
- PostgreSQL: ``COPY`` (asyncpg ``copy_records_to_table``) for the new rows, ids drawn from
  the tables' sequences, and one ``UPDATE ... FROM unnest(...)`` for the counters. A
  concurrent writer that recorded one of the batch's purchases first makes the ``COPY``
  fail on the unique key: :class:`BatchRaceError`, and the caller retries the batch.

Counters move with one atomic ``x = x + :d`` per account; rule usage with an upsert
``count = count + :n``. The batch's events (:mod:`~patron.purchases.bulk.events`) go to the
outbox the same way, last.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import numpy as np
import polars as pl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.purchases import events as purchase_events
from patron.purchases.bulk.events import batch_events
from patron.purchases.bulk.rows import BatchRows

Convert = Callable[[pl.Expr], pl.Expr]
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.6f"


class BatchRaceError(Exception):
    """Another writer recorded one of the batch's purchases meanwhile; retry the batch."""


def _purchases(rows: BatchRows, time: Convert) -> pl.DataFrame:
    now = pl.lit(rows.now)
    return rows.purchases.select(
        "id",
        pl.lit(rows.program_id).alias("program_id"),
        "external_id",
        "member_id",
        time(pl.col("at")).alias("occurred_at"),
        "currency",
        pl.col("total_minor").alias("total"),
        pl.col("shipping_minor").alias("shipping"),
        "channel",
        "store",
        pl.lit(rows.program_version).alias("program_version"),
        pl.col("points").alias("points_earned"),
        pl.lit(0).alias("points_reversed"),
        pl.lit(0).alias("refunded"),
        "earn_entry_id",
        time(pl.col("pending_until")),
        time(pl.col("expires_at")),
        "breakdown",
        "request_hash",
        time(now).alias("created_at"),
    )


def _lines(rows: BatchRows) -> pl.DataFrame:
    return rows.lines.with_columns(pl.lit(0).alias("returned_quantity"))


def _entries(rows: BatchRows, time: Convert) -> pl.DataFrame:
    now = pl.lit(rows.now)
    return rows.entries.select(
        "id",
        "account_id",
        "member_id",
        pl.lit("earn").alias("kind"),
        "amount",
        pl.col("amount").alias("requested_amount"),
        pl.lit(0).alias("debt_change"),
        pl.lit(None, dtype=pl.Int64).alias("lot_id"),
        pl.lit("purchase").alias("source_type"),
        "source_id",
        "idempotency_key",
        time(pl.col("at")).alias("occurred_at"),
        time(now).alias("created_at"),
        "description",
        pl.lit("{}").alias("meta"),
    )


def _lots(rows: BatchRows, time: Convert) -> pl.DataFrame:
    return rows.lots.select(
        "account_id",
        "member_id",
        "entry_id",
        "amount",
        pl.col("amount").alias("remaining"),
        time(pl.col("pending_until")),
        time(pl.col("expires_at")),
        "is_active",
        pl.lit(False).alias("is_expired"),
        time(pl.lit(rows.now)).alias("created_at"),
    )


def _tier_changes(rows: BatchRows) -> list[tuple[Any, ...]]:
    return [(m.member_id, m.from_tier, m.to_tier, m.reason, m.metric, rows.now) for m in rows.moves]


def _member_tiers(rows: BatchRows) -> dict[int, str | None]:
    return {move.member_id: move.to_tier for move in rows.moves}


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _insert(table: str, frame: pl.DataFrame) -> str:
    return f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({_placeholders(frame.width)})"


class SqliteWriter:
    """Writes through an aiosqlite connection (``driver``)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    @staticmethod
    def _time(expression: pl.Expr) -> pl.Expr:
        return expression.dt.replace_time_zone(None).dt.strftime(_SQLITE_TIME)

    async def _cursor(self) -> Any:
        """A cursor of the driver (aiosqlite's or :mod:`patron.kit.sqlite_inline`'s: both
        have awaitable ``execute``, ``executemany``, ``fetchone`` and ``close``)."""
        cursor = self.driver.cursor()
        return await cursor if inspect.isawaitable(cursor) else cursor

    async def _many(self, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
        cursor = await self._cursor()
        try:
            await cursor.executemany(statement, rows)
        finally:
            await cursor.close()

    async def next_ids(self, table: str, count: int) -> np.ndarray:
        cursor = await self._cursor()
        try:
            await cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            (last,) = await cursor.fetchone()
        finally:
            await cursor.close()
        return np.arange(last + 1, last + 1 + count, dtype=np.int64)

    async def pragma(self, name: str, value: int) -> None:
        """Set a connection setting (outside any transaction for those SQLite ignores in one)."""
        cursor = await self._cursor()
        try:
            await cursor.execute(f"PRAGMA {name} = {value}")
        finally:
            await cursor.close()

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file (outside any transaction)."""
        cursor = await self._cursor()
        try:
            await cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            await cursor.close()

    async def write(self, rows: BatchRows) -> None:
        for table, frame in (
            ("purchases", _purchases(rows, self._time)),
            ("purchase_lines", _lines(rows)),
            ("ledger_entries", _entries(rows, self._time)),
            ("lots", _lots(rows, self._time)),
        ):
            if frame.height:
                await self._many(_insert(table, frame), frame.iter_rows())
        now = rows.now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        await self._many(
            "INSERT INTO rule_usages (member_id, rule_id, period_key, count) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (member_id, rule_id, period_key) "
            "DO UPDATE SET count = count + excluded.count",
            rows.usage.iter_rows(),
        )
        await self._many(
            "UPDATE accounts SET available = available + ?, pending = pending + ?, "
            "lifetime_earned = lifetime_earned + ?, updated_at = ? WHERE id = ?",
            ((a, p, e, now, i) for i, a, p, e in rows.accounts.iter_rows()),
        )
        await self._many(
            "UPDATE members SET tier_id = ?, tier_since = ? WHERE id = ?",
            ((tier, now, member) for member, tier in _member_tiers(rows).items()),
        )
        await self._many(
            "INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, metric, occurred_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((*change[:5], now) for change in _tier_changes(rows)),
        )
        if purchase_events.EMIT:
            await self._many(
                "INSERT INTO outbox_events (type, version, program_id, member_id, payload, "
                "occurred_at) VALUES (?, ?, ?, ?, ?, ?)",
                ((*event, now) for event in batch_events(rows).iter_rows()),
            )


class PostgresWriter:
    """Writes through an asyncpg connection (``driver``)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    @staticmethod
    def _time(expression: pl.Expr) -> pl.Expr:
        return expression

    async def next_ids(self, table: str, count: int) -> np.ndarray:
        found = await self.driver.fetch(
            "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
            table,
            count,
        )
        return np.array([row[0] for row in found], dtype=np.int64)

    async def _copy(self, table: str, frame: pl.DataFrame) -> None:
        if frame.height:
            await self.driver.copy_records_to_table(
                table, records=frame.iter_rows(), columns=frame.columns
            )

    async def write(self, rows: BatchRows) -> None:
        try:
            await self._copy("purchases", _purchases(rows, self._time))
        except asyncpg.UniqueViolationError as error:
            raise BatchRaceError(str(error)) from error
        await self._copy("purchase_lines", _lines(rows))
        await self._copy("ledger_entries", _entries(rows, self._time))
        await self._copy("lots", _lots(rows, self._time))
        usage = rows.usage
        if usage.height:
            await self.driver.execute(
                "INSERT INTO rule_usages (member_id, rule_id, period_key, count) "
                "SELECT * FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::int[]) "
                "ON CONFLICT (member_id, rule_id, period_key) "
                "DO UPDATE SET count = rule_usages.count + excluded.count",
                *(usage[name].to_list() for name in usage.columns),
            )
        await self._counters(rows)
        await self._tiers(rows)
        if purchase_events.EMIT:
            events = batch_events(rows).with_columns(pl.lit(rows.now).alias("occurred_at"))
            await self._copy("outbox_events", events)

    async def _counters(self, rows: BatchRows) -> None:
        deltas = rows.accounts
        if not deltas.height:
            return
        await self.driver.execute(
            "UPDATE accounts AS a SET available = a.available + d.available, "
            "pending = a.pending + d.pending, lifetime_earned = a.lifetime_earned + d.lifetime, "
            "updated_at = $5 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) "
            "AS d(id, available, pending, lifetime) WHERE a.id = d.id",
            *(deltas[name].to_list() for name in deltas.columns),
            rows.now,
        )

    async def _tiers(self, rows: BatchRows) -> None:
        if not rows.moves:
            return
        tiers = _member_tiers(rows)
        await self.driver.execute(
            "UPDATE members AS m SET tier_id = t.tier_id, tier_since = $3 "
            "FROM unnest($1::bigint[], $2::varchar[]) AS t(id, tier_id) WHERE m.id = t.id",
            list(tiers),
            list(tiers.values()),
            rows.now,
        )
        changes = _tier_changes(rows)
        await self.driver.execute(
            "INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, metric, occurred_at) "
            "SELECT *, $6::timestamptz FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], "
            "$4::varchar[], $5::bigint[])",
            *([change[index] for change in changes] for index in range(5)),
            rows.now,
        )


Writer = SqliteWriter | PostgresWriter
_GROWING = ("purchases", "purchase_lines", "ledger_entries", "lots", "rule_usages")


async def refresh_statistics(database: Database, batches_done: int) -> None:
    """PostgreSQL: ``ANALYZE`` the tables an import grows after batches 1, 2, 4, 8, ..., so
    that the next batches' lookups (tier metrics, rule usage) are planned on the tables'
    present size rather than on the near-empty tables autovacuum last saw. SQLite plans
    without statistics: nothing to do."""
    if database.is_sqlite or batches_done & (batches_done - 1):
        return
    async with database.write() as session:
        await session.execute(text(f"ANALYZE {', '.join(_GROWING)}"))


# SQLite settings of the write connection while an import runs: a page cache that holds the
# indexes the import writes in random order (members' purchases, entries and lots), and WAL
# checkpoints every ~256 MB rather than every 4 MB (each one writes the hot pages again).
_SQLITE_BULK = {"cache_size": -524_288, "wal_autocheckpoint": 0}


@asynccontextmanager
async def bulk_settings(database: Database) -> AsyncIterator[None]:
    """Tune the SQLite write connection for the import, and restore it afterwards (the
    write engine has one connection, which every batch's unit of work uses)."""
    if not database.is_sqlite:
        yield
        return
    async with database.write() as session:
        before = {
            name: (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
            for name in _SQLITE_BULK
        }
        for name, value in _SQLITE_BULK.items():
            await session.execute(text(f"PRAGMA {name} = {value}"))
    try:
        yield
    finally:
        async with database.write() as session:
            for name, value in before.items():
                await session.execute(text(f"PRAGMA {name} = {int(value)}"))
        async with database.write_engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await SqliteWriter(raw.driver_connection).checkpoint()


@asynccontextmanager
async def batch_unit_of_work(database: Database) -> AsyncIterator[AsyncSession]:
    """``database.write()`` for one batch. On SQLite its connection runs the unit of work
    with foreign-key enforcement off (set before ``BEGIN IMMEDIATE``, where SQLite honours
    it, and on again after the commit or rollback, on the same checkout of the write
    engine's one connection, so no other unit of work runs without it). The checks are
    redundant for what a batch writes: the ids it references are the batch's own (allocated
    under the write lock) or were read in the same unit of work (members, accounts, the
    program), and the per-event purchases it replays reference the same rows. They cost a
    parent lookup per row and reference (about a quarter of the import's insert time)."""
    if not database.is_sqlite:
        async with database.write() as session:
            yield session
        return
    async with database.write_engine.connect() as connection:
        raw = await connection.get_raw_connection()
        writer = SqliteWriter(raw.driver_connection)
        await writer.pragma("foreign_keys", 0)
        try:
            async with (
                AsyncSession(bind=connection, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield session
        finally:
            await writer.pragma("foreign_keys", 1)


async def writer_for(session: AsyncSession) -> Writer:
    """The writer for the session's database, on the session's own connection (so that the
    rows belong to its unit of work)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        return PostgresWriter(driver)
    return SqliteWriter(driver)
