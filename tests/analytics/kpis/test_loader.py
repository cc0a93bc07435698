"""The KPI loader reads every purchase of the program in its currency exactly once, however the
read is split (on SQLite: slices of time over the covering index, cut at the times of
purchases at evenly spaced ids; times tie at the cuts and ids do not follow time here)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import select

from patron.analytics.kpis import repository as loader
from patron.analytics.kpis.repository import KpiRepository
from patron.kit.db import Database
from patron.programs import service as program_service
from patron.purchases.models import Purchase
from tests.conftest import SEED_PROGRAM

START = datetime(2025, 1, 1, tzinfo=UTC)


async def _program(database: Database) -> int:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="tests", now=START
        )
        return (await program_service.get_active_program(session)).program_id


def _purchase(program_id: int, number: int, when: datetime, currency: str) -> Purchase:
    return Purchase(
        program_id=program_id,
        external_id=f"p{number}",
        occurred_at=when,
        currency=currency,
        total=1000 + number,
        shipping=number % 3,
        program_version=1,
        breakdown=[],
        request_hash="-",
        created_at=when,
    )


async def _expected(database: Database, program_id: int) -> set[tuple[int, int, int, datetime]]:
    async with database.read() as session:
        rows = await session.execute(
            select(Purchase.id, Purchase.total, Purchase.shipping, Purchase.occurred_at).where(
                Purchase.program_id == program_id, Purchase.currency == "RUB"
            )
        )
        return {(row[0], row[1], row[2], row[3]) for row in rows}


async def _loaded(database: Database, program_id: int) -> pl.DataFrame:
    async with database.read() as session:
        return await KpiRepository(session).purchases(program_id, "RUB")


async def test_no_purchases_reads_an_empty_frame(database: Database) -> None:
    program_id = await _program(database)
    frame = await _loaded(database, program_id)
    assert frame.height == 0
    assert frame.columns == ["id", "member_id", "occurred_at", "total", "shipping"]


async def test_every_purchase_once_across_the_slices(database: Database) -> None:
    program_id = await _program(database)
    rng = random.Random(7)
    # Few distinct times, so that many purchases share the times the cuts fall on; written in
    # shuffled order, so that ids do not follow time; some in another currency (left out).
    moments = [
        START + timedelta(days=rng.randrange(6), seconds=rng.randrange(2)) for _ in range(60)
    ]
    async with database.write() as session:
        for number, when in enumerate(moments):
            session.add(_purchase(program_id, number, when, "EUR" if number % 11 == 0 else "RUB"))
    frame = await _loaded(database, program_id)
    loaded = {
        (row["id"], row["total"], row["shipping"], row["occurred_at"])
        for row in frame.iter_rows(named=True)
    }
    assert frame.height == len(loaded)  # no purchase twice
    assert loaded == await _expected(database, program_id)
    assert frame.height == sum(1 for number in range(60) if number % 11)


async def test_the_slices_partition_the_stored_times(database: Database) -> None:
    """On SQLite the read is TIME_SLICES queries; they cover the table without overlap."""
    program_id = await _program(database)
    async with database.write() as session:
        for number in range(40):
            session.add(_purchase(program_id, number, START + timedelta(hours=number // 4), "RUB"))
    async with database.read() as session:
        repository = KpiRepository(session)
        if not repository.is_sqlite:
            return
        slices = await repository._time_slices()
    assert len(slices) == loader.TIME_SLICES
    assert slices[0].startswith(" AND occurred_at <")
    assert slices[-1].startswith(" AND occurred_at >=")
    frame = await _loaded(database, program_id)
    assert sorted(frame.get_column("id").to_list()) == sorted(
        row[0] for row in await _expected(database, program_id)
    )
