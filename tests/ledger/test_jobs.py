"""The daily jobs: activation and expiry, their idempotency, and balances as of now."""

from __future__ import annotations

from sqlalchemy import select

from patron.kit.db import Database
from patron.ledger import service
from patron.ledger.jobs import activate_due, expire_due
from patron.ledger.kinds import ShortfallPolicy
from patron.ledger.models import entries
from patron.ledger.verify import verify
from tests.ledger.factories import T0, day, earn, entry_summary, figures, lot_of, lot_rows, spend

ANNA, BORIS, CLARA = 11, 12, 13


async def test_activation_job_activates_due_lots_and_repays_debt(database: Database) -> None:
    async with database.write() as session:
        for member in (ANNA, BORIS, CLARA):
            await service.open_account(session, member_id=member, now=T0)
        await spend(session, ANNA, 25, policy=ShortfallPolicy.DEBT)
        await earn(session, ANNA, 20, pending_until=day(3))
        await earn(session, ANNA, 30, pending_until=day(2))
        await earn(session, BORIS, 40, pending_until=day(2))
        await earn(session, BORIS, 7, pending_until=day(9))
        await earn(session, CLARA, 5, pending_until=day(9))
        before = [await figures(session, member, day(4)) for member in (ANNA, BORIS, CLARA)]
        assert await activate_due(session, now=day(4), batch_size=1) == 3
        after = [await figures(session, member, day(4)) for member in (ANNA, BORIS, CLARA)]
        assert before == after == [(25, 0, 50, 25, 0, 0), (40, 7, 47, 0, 0, 0), (0, 5, 5, 0, 0, 0)]
        anna = await lot_rows(session, ANNA)
        # The lot pending until day 2 repaid the debt; the other kept its 20.
        assert [(row["remaining"], row["is_active"]) for row in anna] == [(20, True), (5, True)]
        assert await activate_due(session, now=day(4)) == 0
        assert await verify(session, now=day(4)) == []


async def test_expiry_job_writes_off_due_lots_once(database: Database) -> None:
    async with database.write() as session:
        for member in (ANNA, BORIS):
            await service.open_account(session, member_id=member, now=T0)
        soon = await lot_of(session, await earn(session, ANNA, 100, expires_at=day(10)))
        await earn(session, ANNA, 50, expires_at=day(40))
        await spend(session, ANNA, 30, now=day(1))
        spent = await lot_of(session, await earn(session, BORIS, 10, expires_at=day(5)))
        await spend(session, BORIS, 10, now=day(1))
        late = await lot_of(session, await earn(session, BORIS, 60, expires_at=day(12)))
        before = [await figures(session, member, day(12)) for member in (ANNA, BORIS)]
        assert await expire_due(session, now=day(12), batch_size=1) == 2
        after = [await figures(session, member, day(12)) for member in (ANNA, BORIS)]
        assert before == after == [(50, 0, 150, 30, 70, 0), (0, 0, 70, 10, 60, 0)]
        assert await entry_summary(session, ANNA) == [
            ("earn", 100),
            ("earn", 50),
            ("redeem", -30),
            ("expire", -70),
        ]
        statement = select(entries.c.idempotency_key, entries.c.occurred_at, entries.c.lot_id)
        expiries = await session.execute(statement.where(entries.c.kind == "expire"))
        assert sorted(expiries.all(), key=lambda row: row[2]) == [
            (f"ledger:expire:lot:{soon}", day(10), soon),
            (f"ledger:expire:lot:{late}", day(12), late),
        ]
        assert await expire_due(session, now=day(12)) == 0
        assert [row["is_expired"] for row in await lot_rows(session, BORIS)] == [False, True]
        assert spent < late
        assert await verify(session, now=day(12)) == []


async def test_expiry_job_first_lets_due_pending_lots_repay_debt(database: Database) -> None:
    """A lot that activated on day 1 and expired on day 2 repaid the debt before it expired,
    whichever job runs first."""
    async with database.write() as session:
        await service.open_account(session, member_id=ANNA, now=T0)
        await spend(session, ANNA, 4, policy=ShortfallPolicy.DEBT)
        await earn(session, ANNA, 10, pending_until=day(1), expires_at=day(2))
        await earn(session, ANNA, 8, pending_until=day(1.5))
        assert await figures(session, ANNA, day(3)) == (8, 0, 18, 4, 6, 0)
        assert await expire_due(session, now=day(3)) == 1
        assert await figures(session, ANNA, day(3)) == (8, 0, 18, 4, 6, 0)
        assert [row["remaining"] for row in await lot_rows(session, ANNA)] == [0, 8]
        assert await activate_due(session, now=day(3)) == 0
        assert await verify(session, now=day(3)) == []


async def test_jobs_with_nothing_due_change_nothing(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=ANNA, now=T0)
        await earn(session, ANNA, 10, pending_until=day(5), expires_at=day(9))
        assert await activate_due(session, now=day(4)) == 0
        assert await expire_due(session, now=day(4)) == 0
        assert await figures(session, ANNA, day(4)) == (0, 10, 10, 0, 0, 0)
        assert await entry_summary(session, ANNA) == [("earn", 10)]
