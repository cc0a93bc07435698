"""Reversals (returns) and refunds (cancelled coupons) against a real database."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.ledger import service
from patron.ledger.errors import (
    InsufficientPointsError,
    LotNotFoundError,
    ReversalExceedsEarningError,
)
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.schemas import Entry
from patron.ledger.verify import verify
from tests.ledger.factories import (
    T0,
    day,
    earn,
    entry_summary,
    figures,
    lot_of,
    lot_rows,
    movement_rows,
    new_key,
    spend,
)

MEMBER = 2002


async def reverse(
    session: AsyncSession,
    amount: int,
    *,
    lot_id: int | None = None,
    entry_id: int | None = None,
    now: object = T0,
    policy: ShortfallPolicy = ShortfallPolicy.DEBT,
    key: str | None = None,
) -> Entry:
    return await service.reverse_lot(
        session,
        lot_id=lot_id,
        entry_id=entry_id,
        amount=amount,
        idempotency_key=key or new_key("return"),
        source_type="return",
        source_id="RET-1",
        now=now,  # type: ignore[arg-type]
        on_shortfall=policy,
    )


async def test_reversal_takes_from_its_pending_lot_first(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        other = await lot_of(session, await earn(session, MEMBER, 100, expires_at=day(50)))
        earning = await earn(session, MEMBER, 60, pending_until=day(14))
        entry = await reverse(session, 45, entry_id=earning.id, now=day(2))
        own = await lot_of(session, earning)
        assert await movement_rows(session, entry.id) == [(own, "debit", -45)]
        assert await figures(session, MEMBER, day(2)) == (100, 15, 115, 0, 0, 0)
        # The last 15 of that lot; a third reversal would exceed the 60 it earned.
        entry = await reverse(session, 15, lot_id=own, now=day(3))
        assert await movement_rows(session, entry.id) == [(own, "debit", -15)]
        with pytest.raises(ReversalExceedsEarningError) as caught:
            await reverse(session, 1, lot_id=own, now=day(3))
        assert (caught.value.code, caught.value.reversible) == ("reversal_exceeds_earning", 0)
        assert await figures(session, MEMBER, day(3)) == (100, 0, 100, 0, 0, 0)
        assert {row["id"]: row["remaining"] for row in await lot_rows(session, MEMBER)} == {
            other: 100,
            own: 0,
        }
        assert await verify(session, now=day(3)) == []
    assert (entry.kind, entry.amount, entry.lot_id) == (EntryKind.REVERSE, -15, own)


async def test_reversal_of_spent_points_takes_other_lots_then_applies_the_policy(
    database: Database,
) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        earning = await earn(session, MEMBER, 100)
        own = await lot_of(session, earning)
        await spend(session, MEMBER, 80, now=day(1))
        later = await lot_of(session, await earn(session, MEMBER, 30, now=day(2)))
        soon = await lot_of(session, await earn(session, MEMBER, 10, now=day(2), expires_at=day(9)))
        assert await figures(session, MEMBER, day(3)) == (60, 0, 140, 80, 0, 0)
        with pytest.raises(InsufficientPointsError) as caught:
            await reverse(session, 70, entry_id=earning.id, policy=ShortfallPolicy.REFUSE)
        assert (caught.value.requested, caught.value.available) == (70, 60)
        capped = await reverse(session, 70, entry_id=earning.id, policy=ShortfallPolicy.CAP)
        assert await movement_rows(session, capped.id) == [
            (own, "debit", -20),
            (soon, "debit", -10),
            (later, "debit", -30),
        ]
        assert (capped.amount, capped.requested_amount) == (-60, -70)
        assert await figures(session, MEMBER, day(3)) == (0, 0, 80, 80, 0, 0)
        # 40 of the earning's 100 are still reversible; nothing is left: all of it is debt.
        owed = await reverse(session, 40, lot_id=own, now=day(4))
        assert (owed.amount, owed.debt_change) == (-40, 40)
        assert await movement_rows(session, owed.id) == []
        assert await figures(session, MEMBER, day(4)) == (-40, 0, 40, 80, 0, 40)
        assert await verify(session, now=day(4)) == []


async def test_reversal_names_exactly_one_existing_lot(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        earning = await earn(session, MEMBER, 10)
        with pytest.raises(InvalidInputError):
            await reverse(session, 5)
        with pytest.raises(InvalidInputError):
            await reverse(session, 5, lot_id=1, entry_id=earning.id)
        with pytest.raises(LotNotFoundError):
            await reverse(session, 5, entry_id=earning.id + 1000)
        with pytest.raises(LotNotFoundError):
            await reverse(session, 5, lot_id=987654)
        assert await entry_summary(session, MEMBER) == [("earn", 10)]


async def test_refund_returns_points_as_a_new_lot_and_lowers_redeemed(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 100, expires_at=day(5))
        await spend(session, MEMBER, 80, now=day(1))
        refund = await service.refund(
            session,
            member_id=MEMBER,
            amount=80,
            idempotency_key="coupon:C-1:cancel",
            source_type="coupon",
            source_id="C-1",
            now=day(6),
            expires_at=day(30),
        )
        assert await figures(session, MEMBER, day(6)) == (80, 0, 100, 0, 20, 0)
        rows = await lot_rows(session, MEMBER)
        assert [(row["amount"], row["remaining"], row["expires_at"]) for row in rows] == [
            (100, 20, day(5)),
            (80, 80, day(30)),
        ]
        assert await verify(session, now=day(6)) == []
    assert (refund.kind, refund.amount) == (EntryKind.REDEEM, 80)
