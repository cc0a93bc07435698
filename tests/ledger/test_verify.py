"""``verify`` finds nothing in a sound ledger and names every breach in a tampered one."""

from __future__ import annotations

from sqlalchemy import text

from patron.kit.db import Database
from patron.ledger import service
from patron.ledger.kinds import ShortfallPolicy
from patron.ledger.verify import Breach, Check, verify
from tests.ledger.factories import T0, day, earn, lot_of, spend

MEMBER = 77


async def _sound_ledger(database: Database) -> tuple[int, int, int]:
    """Returns (account id, lot id, debit entry id)."""
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        lot_id = await lot_of(session, await earn(session, MEMBER, 100, expires_at=day(3)))
        await earn(session, MEMBER, 20, pending_until=day(1))
        debit = await spend(session, MEMBER, 130, now=day(2), policy=ShortfallPolicy.DEBT)
        await earn(session, MEMBER, 25, now=day(2))
        account_id = (await session.execute(text("SELECT id FROM accounts"))).scalar_one()
        assert await verify(session, now=day(2)) == []
    return account_id, lot_id, debit.id


async def test_tampered_cache_is_reported(database: Database) -> None:
    account_id, _, _ = await _sound_ledger(database)
    async with database.write() as session:
        await session.execute(text("UPDATE accounts SET available = available + 7, expired = 1"))
        found = await verify(session, now=day(2))
    subject = f"account {account_id}"
    assert found == [
        Breach(Check.ENTRIES_TOTAL, MEMBER, subject, 15, 22),
        Breach(Check.AVAILABLE, MEMBER, subject, 15, 22),
        Breach(Check.EXPIRED, MEMBER, subject, 0, 1),
    ]


async def test_tampered_lot_is_reported(database: Database) -> None:
    account_id, lot_id, _ = await _sound_ledger(database)
    async with database.write() as session:
        await session.execute(text(f"UPDATE lots SET remaining = 1 WHERE id = {lot_id}"))
        found = await verify(session, now=day(2))
    subject = f"account {account_id}"
    assert found == [
        Breach(Check.LOTS_TOTAL, MEMBER, subject, 15, 16),
        Breach(Check.AVAILABLE, MEMBER, subject, 16, 15),
        Breach(Check.LOT_MOVEMENTS, MEMBER, f"lot {lot_id}", 0, 1),
    ]


async def test_tampered_debt_and_entries_are_reported(database: Database) -> None:
    account_id, _, debit_id = await _sound_ledger(database)
    async with database.write() as session:
        await session.execute(text("UPDATE accounts SET debt = 4, available = available - 4"))
        await session.execute(
            text(f"UPDATE ledger_entries SET amount = -131 WHERE id = {debit_id}")
        )
        found = await verify(session, now=T0)
    subject = f"account {account_id}"
    assert found == [
        Breach(Check.ENTRIES_TOTAL, MEMBER, subject, 14, 11),
        Breach(Check.LOTS_TOTAL, MEMBER, subject, 14, 11),
        Breach(Check.DEBT, MEMBER, subject, 0, 4),
        Breach(Check.DEBT_WITH_POINTS, MEMBER, subject, 0, 1),
        Breach(Check.REDEEMED, MEMBER, subject, 131, 130),
        Breach(Check.ENTRY_MOVEMENTS, MEMBER, f"entry {debit_id}", -130, -131),
        Breach(Check.ENTRY_IN_FUTURE, MEMBER, f"entry {debit_id}", 0, 1),
        Breach(Check.ENTRY_IN_FUTURE, MEMBER, f"entry {debit_id + 1}", 0, 1),
    ]
