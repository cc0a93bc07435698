"""Read-only queries of the KPI loader: SQL in, Polars frames out.

The large tables (purchases, ledger entries) are read column-wise with ConnectorX
(:mod:`patron.kit.columnar`), which turns the database's rows into Arrow arrays in native code,
in parallel threads, so no Python object is built per row: ten million purchases read in a few
seconds on SQLite or PostgreSQL. On SQLite ConnectorX runs in a reader process of its own,
never in this one (its own copy of SQLite would destroy the write-ahead log of a database this
process holds open). On PostgreSQL the reads are split on the primary key. On SQLite the
purchases come from the covering index ``ix_purchases_occurred_facts`` (time, then every
column read here) in slices of time, so the scan walks about 50 bytes a purchase instead of
its whole row (about 650, most of it the rule breakdown). ConnectorX opens its own read-only
connections from the session's URL, so it sees what is committed. Small lookups (coupons,
table existence, where to cut the purchases) go through the session; the frame reads
(:class:`FrameRead`) touch only ConnectorX, and :meth:`KpiRepository.load` runs several of
them in one request, together. Every frame leaves here with the dtypes of :mod:`.inputs` and
UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from patron.analytics.kpis.inputs import MEMBERS, PURCHASES, RETURNS
from patron.kit import money
from patron.kit.columnar import ColumnarRead, read_tables
from patron.programs.schema import RewardKind
from patron.rewards.models import Coupon, CouponStatus

MONEY_VALUED = (RewardKind.FIXED_DISCOUNT, RewardKind.GIFT_CERTIFICATE, RewardKind.CASHBACK)
PARTITIONS = 2
FACTS_INDEX = "ix_purchases_occurred_facts"
TIME_SLICES = 4  # more slices than cores: a slice that holds more purchases is no straggler
STORED_TIME = re.compile(r"[0-9T:. +-]+")
# Two subqueries: SQLite answers a lone min() or max() of the key from the b-tree's ends, but
# ``SELECT min(id), max(id)`` would scan the whole table.
FIRST_AND_LAST_ID = "SELECT (SELECT min(id) FROM purchases), (SELECT max(id) FROM purchases)"
SEGMENTS_TABLE = "member_segments"


def _utc(frame: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    """Cast to ``schema``; naive datetimes (SQLite) are UTC, aware ones are converted."""
    columns = []
    for name, dtype in schema.items():
        column = pl.col(name)
        current = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and isinstance(current, pl.Datetime):
            column = column.dt.cast_time_unit("us")
            column = (
                column.dt.replace_time_zone("UTC")
                if current.time_zone is None
                else column.dt.convert_time_zone("UTC")
            )
        columns.append(column.cast(dtype))
    return frame.select(columns)


def _identity(frame: pl.DataFrame) -> pl.DataFrame:
    return frame


@dataclass(frozen=True)
class FrameRead:
    """A ConnectorX read and what turns its result into the loader's frame."""

    read: ColumnarRead
    finish: Callable[[pl.DataFrame], pl.DataFrame] = _identity


class KpiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        url = session.get_bind().engine.url
        self.url = make_url(url.render_as_string(hide_password=False))

    async def load(self, *reads: FrameRead) -> list[pl.DataFrame]:
        """Run ``reads`` together (one request to ConnectorX); one frame per read, in order.
        Touches only ConnectorX, never the session."""
        tables = await read_tables(self.url, [frame_read.read for frame_read in reads])
        frames = []
        for frame_read, table in zip(reads, tables, strict=True):
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            # ConnectorX hands over dozens of record batches; every later step (to_numpy,
            # filters, gathers) is a copy or a slow path on a chunked column: join them once.
            frames.append(frame_read.finish(frame.rechunk()))
        return frames

    async def purchases(self, program_id: int, currency: str) -> pl.DataFrame:
        """Purchases of the program in its currency (others are left out of money figures)."""
        queries = await self.purchase_queries(program_id, currency)
        (frame,) = await self.load(self.purchases_read(queries))
        return frame

    async def purchase_queries(self, program_id: int, currency: str) -> list[str]:
        """The queries :meth:`purchases_read` runs (reading the session: run it first).

        On SQLite the time is read as whole seconds since the epoch (``unixepoch``): parsing
        SQLite's datetime text was most of the read; every KPI needs days only.
        """
        assert money.is_currency(currency)  # a literal in the query: only ISO codes pass
        columns = f"id, member_id, {self._moment()}, total, shipping"
        where = f"program_id = {int(program_id)} AND currency = '{currency}'"
        if not self.is_sqlite:
            return [f"SELECT {columns} FROM purchases WHERE {where}"]
        return [
            f"SELECT {columns} FROM purchases INDEXED BY {FACTS_INDEX} WHERE {where}{bounds}"
            for bounds in await self._time_slices()
        ]

    def purchases_read(self, queries: list[str]) -> FrameRead:
        """The purchases frame from :meth:`purchase_queries`."""
        if self.is_sqlite:
            return FrameRead(
                ColumnarRead(tuple(queries)), lambda frame: _utc(self._seconds(frame), PURCHASES)
            )
        (query,) = queries
        return FrameRead(
            ColumnarRead(query, partition_on="id", partition_num=PARTITIONS),
            lambda frame: _utc(frame, PURCHASES),
        )

    async def _time_slices(self) -> list[str]:
        """Conditions that split the purchases into :data:`TIME_SLICES` ranges of stored time,
        each purchase in exactly one (``>=`` one cut, ``<`` the next). The cuts are the times
        of the purchases at evenly spaced ids, so the slices hold about as many purchases each
        when ids follow time (they mostly do; when they do not, the slices are still exact,
        only uneven). The stored text is compared as stored: SQLite orders it as time."""
        span = (await self.session.execute(text(FIRST_AND_LAST_ID))).one()
        if span[0] is None:
            return [""]
        first, last = int(span[0]), int(span[1])
        cuts: set[str] = set()
        for step in range(1, TIME_SLICES):
            at = first + (last - first) * step // TIME_SLICES
            found = await self.session.execute(
                text("SELECT occurred_at FROM purchases WHERE id >= :at ORDER BY id LIMIT 1"),
                {"at": at},
            )
            stored = found.scalar_one()
            if isinstance(stored, str) and STORED_TIME.fullmatch(stored):  # a literal below
                cuts.add(stored)
        ordered = sorted(cuts)
        lower = [""] + [f" AND occurred_at >= '{cut}'" for cut in ordered]
        upper = [f" AND occurred_at < '{cut}'" for cut in ordered] + [""]
        return [low + high for low, high in zip(lower, upper, strict=True)]

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def _moment(self) -> str:
        return "unixepoch(occurred_at) AS occurred_at" if self.is_sqlite else "occurred_at"

    def _seconds(self, frame: pl.DataFrame, column: str = "occurred_at") -> pl.DataFrame:
        """SQLite's epoch seconds as datetimes (other databases give datetimes already)."""
        if not self.is_sqlite:
            return frame
        return frame.with_columns(pl.from_epoch(pl.col(column).cast(pl.Int64), "s").alias(column))

    def returns_read(self) -> FrameRead:
        query = "SELECT purchase_id, amount, occurred_at FROM purchase_returns"
        return FrameRead(ColumnarRead(query), lambda frame: _utc(frame, RETURNS))

    def members_read(self, program_id: int) -> FrameRead:
        enrolled = "unixepoch(enrolled_at)" if self.is_sqlite else "enrolled_at"
        query = (
            f"SELECT id AS member_id, {enrolled} AS enrolled_at, tier_id AS tier FROM members "
            f"WHERE program_id = {int(program_id)}"
        )
        return FrameRead(
            ColumnarRead(query), lambda frame: _utc(self._seconds(frame, "enrolled_at"), MEMBERS)
        )

    def accounts_read(self) -> FrameRead:
        """The cached counters of every account (as recorded now)."""
        query = (
            "SELECT member_id, available, pending, lifetime_earned, redeemed, expired FROM accounts"
        )

        def finish(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.select(
                pl.col("member_id").cast(pl.Int64),
                issued=pl.col("lifetime_earned").cast(pl.Int64),
                redeemed=pl.col("redeemed").cast(pl.Int64),
                expired=pl.col("expired").cast(pl.Int64),
                balance=(pl.col("available") + pl.col("pending")).cast(pl.Int64),
            )

        return FrameRead(ColumnarRead(query), finish)

    def openings_read(self) -> FrameRead:
        """The opening balances imported with members (``opening`` entries): the KPIs count
        them apart from the points the program issued."""
        query = (
            f"SELECT member_id, amount, {self._moment()} FROM ledger_entries WHERE kind = 'opening'"
        )
        schema = {
            "member_id": pl.Int64,
            "amount": pl.Int64,
            "occurred_at": pl.Datetime("us", "UTC"),
        }
        return FrameRead(ColumnarRead(query), lambda frame: _utc(self._seconds(frame), schema))

    def entries_read(self) -> FrameRead:
        query = f"SELECT id, member_id, kind, amount, {self._moment()} FROM ledger_entries"
        schema = {
            "member_id": pl.Int64,
            "kind": pl.String,
            "amount": pl.Int64,
            "occurred_at": pl.Datetime("us", "UTC"),
        }
        return FrameRead(
            ColumnarRead(query, partition_on="id", partition_num=PARTITIONS),
            lambda frame: _utc(self._seconds(frame), schema),
        )

    async def coupon_values(self, program_id: int, currency: str) -> pl.DataFrame:
        """Value and points of the money-valued coupons issued and not cancelled."""
        query = select(Coupon.value, Coupon.cost_points).where(
            Coupon.program_id == program_id,
            Coupon.kind.in_(MONEY_VALUED),
            Coupon.status != CouponStatus.CANCELLED,
            Coupon.currency == currency,
            Coupon.value.is_not(None),
            Coupon.cost_points > 0,
        )
        rows = (await self.session.execute(query)).all()
        return pl.DataFrame(
            [tuple(row) for row in rows],
            schema={"value": pl.Int64, "cost_points": pl.Int64},
            orient="row",
        )

    async def has_segments(self) -> bool:
        """Whether segments have been computed (the table exists and holds rows)."""

        def check(connection: Connection) -> bool:
            return inspect(connection).has_table(SEGMENTS_TABLE)

        connection = await self.session.connection()
        if not await connection.run_sync(check):
            return False
        query = text(f"SELECT 1 FROM {SEGMENTS_TABLE} LIMIT 1")
        return (await self.session.execute(query)).first() is not None

    def segments_read(self) -> FrameRead:
        query = f"SELECT member_id, rfm_segment FROM {SEGMENTS_TABLE}"

        def finish(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.select(
                pl.col("member_id").cast(pl.Int64), group=pl.col("rfm_segment").cast(pl.String)
            )

        return FrameRead(ColumnarRead(query), finish)
