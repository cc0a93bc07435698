"""Concurrent units of work on one account: no overdraft, no lost update (SQLite and
PostgreSQL: the account lock serialises the writers)."""

from __future__ import annotations

import asyncio

from patron.kit.db import Database
from patron.ledger import service
from patron.ledger.errors import InsufficientPointsError
from patron.ledger.jobs import expire_due
from patron.ledger.schemas import Entry
from patron.ledger.verify import verify
from tests.ledger.factories import T0, day, earn, entry_summary, figures, spend

MEMBER = 5005
TASKS = 50


async def _open_with(database: Database, *amounts: int) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        for amount in amounts:
            await earn(session, MEMBER, amount, expires_at=day(100))


async def test_concurrent_debits_never_overdraw(database: Database) -> None:
    await _open_with(database, 100, 150, 50)

    async def attempt(number: int) -> Entry:
        async with database.write() as session:
            return await spend(session, MEMBER, 100, now=day(1), key=f"redeem:{number}")

    outcomes = await asyncio.gather(
        *(attempt(number) for number in range(TASKS)), return_exceptions=True
    )
    succeeded = [item for item in outcomes if isinstance(item, Entry)]
    refused = [item for item in outcomes if isinstance(item, InsufficientPointsError)]
    assert (len(succeeded), len(refused)) == (3, TASKS - 3)
    async with database.read() as session:
        assert await figures(session, MEMBER, day(1)) == (0, 0, 300, 300, 0, 0)
        assert [kind for kind, _ in await entry_summary(session, MEMBER)].count("redeem") == 3
        assert await verify(session, now=day(1)) == []


async def test_concurrent_credits_lose_no_update(database: Database) -> None:
    await _open_with(database)

    async def attempt(number: int) -> Entry:
        async with database.write() as session:
            return await earn(session, MEMBER, 7 + number, now=day(1), key=f"purchase:{number}")

    outcomes = await asyncio.gather(*(attempt(number) for number in range(TASKS)))
    assert len({entry.id for entry in outcomes}) == TASKS
    expected = sum(7 + number for number in range(TASKS))
    async with database.read() as session:
        assert await figures(session, MEMBER, day(1)) == (expected, 0, expected, 0, 0, 0)
        assert len(await entry_summary(session, MEMBER)) == TASKS
        assert await verify(session, now=day(1)) == []


async def test_concurrent_retries_of_one_credit_write_it_once(database: Database) -> None:
    await _open_with(database)

    async def attempt() -> Entry:
        async with database.write() as session:
            return await earn(session, MEMBER, 40, now=day(1), key="purchase:P-1")

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))
    assert {entry.id for entry in outcomes} == {outcomes[0].id}
    async with database.read() as session:
        assert await figures(session, MEMBER, day(1)) == (40, 0, 40, 0, 0, 0)
        assert await entry_summary(session, MEMBER) == [("earn", 40)]


async def test_concurrent_debits_and_credits_balance_out(database: Database) -> None:
    await _open_with(database, 500)

    async def credit(number: int) -> Entry:
        async with database.write() as session:
            return await earn(session, MEMBER, 10, now=day(1), key=f"purchase:{number}")

    async def debit(number: int) -> Entry:
        async with database.write() as session:
            return await spend(session, MEMBER, 20, now=day(1), key=f"redeem:{number}")

    tasks = [credit(number) for number in range(25)] + [debit(number) for number in range(25)]
    await asyncio.gather(*tasks)
    async with database.read() as session:
        assert await figures(session, MEMBER, day(1)) == (250, 0, 750, 500, 0, 0)
        assert await verify(session, now=day(1)) == []


async def test_expiry_jobs_racing_debits_expire_each_lot_once(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 100, expires_at=day(5))
        await earn(session, MEMBER, 100)

    async def debit(number: int) -> Entry:
        async with database.write() as session:
            return await spend(session, MEMBER, 30, now=day(6), key=f"redeem:{number}")

    async def job() -> int:
        async with database.write() as session:
            return await expire_due(session, now=day(6))

    outcomes = await asyncio.gather(
        *(debit(number) for number in range(5)),
        *(job() for _ in range(3)),
        return_exceptions=True,
    )
    assert sum(isinstance(item, Entry) for item in outcomes) == 3
    assert sum(isinstance(item, InsufficientPointsError) for item in outcomes) == 2
    assert sum(item for item in outcomes if type(item) is int) <= 1
    async with database.read() as session:
        assert await figures(session, MEMBER, day(6)) == (10, 0, 200, 90, 100, 0)
        assert [kind for kind, _ in await entry_summary(session, MEMBER)].count("expire") == 1
        assert await verify(session, now=day(6)) == []
