"""Concurrent redemptions, each in its own unit of work: exact outcomes on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.programs.schemas import ActiveProgram
from patron.rewards.errors import OutOfStockError
from patron.rewards.models import Coupon
from patron.rewards.schemas import Redemption
from patron.rewards.service import redeem
from tests.rewards.factories import NOW, member_with_points, snapshot


async def _attempt(
    database: Database,
    active: ActiveProgram,
    member_id: int,
    reward_code: str,
    idempotency_key: str | None = None,
) -> Redemption | PatronError:
    try:
        async with database.write() as session:
            return await redeem(
                session,
                active=active,
                member_id=member_id,
                reward_code=reward_code,
                idempotency_key=idempotency_key,
                now=NOW,
            )
    except PatronError as error:
        return error


async def test_fifty_redemptions_of_an_account_that_affords_three(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="anna", points=300)
    outcomes = await asyncio.gather(
        *(_attempt(database, active, member.id, "DISC10") for _ in range(50))
    )
    redemptions = [o for o in outcomes if isinstance(o, Redemption)]
    refusals = [o for o in outcomes if isinstance(o, PatronError)]
    assert len(redemptions) == 3
    assert len(refusals) == 47
    assert all(isinstance(o, InsufficientPointsError) for o in refusals)
    assert sorted(r.balance_after for r in redemptions) == [0, 100, 200]
    assert len({r.coupon.code for r in redemptions}) == 3
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=member.id, now=NOW)
        coupons = (await session.execute(select(func.count()).select_from(Coupon))).scalar_one()
        page = await ledger_service.entries(session, member_id=member.id)
    assert (balance.available, balance.redeemed) == (0, 300)
    assert coupons == 3
    assert sorted(entry.amount for entry in page.items) == [-100, -100, -100, 300]


async def test_twenty_rich_members_race_for_a_stock_of_two(
    database: Database, active: ActiveProgram
) -> None:
    members = [
        await member_with_points(database, active=active, external_id=f"m{i}", points=50)
        for i in range(20)
    ]
    outcomes = await asyncio.gather(
        *(_attempt(database, active, member.id, "LIMITED") for member in members)
    )
    winners = [o for o in outcomes if isinstance(o, Redemption)]
    refusals = [o for o in outcomes if isinstance(o, PatronError)]
    assert len(winners) == 2
    assert len(refusals) == 18
    assert all(isinstance(o, OutOfStockError) for o in refusals)
    snap = await snapshot(database, members[0].id)
    assert snap["stocks"] == [(active.program_id, "LIMITED", 2)]
    assert snap["coupons"] == 2
    losers = [m for m, o in zip(members, outcomes, strict=True) if isinstance(o, PatronError)]
    for member in losers:
        assert (await snapshot(database, member.id))["balance"]["available"] == 50


async def test_ten_retries_of_one_redemption_issue_one_coupon(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="bob", points=1000)
    outcomes = await asyncio.gather(
        *(_attempt(database, active, member.id, "DISC10", "checkout-42") for _ in range(10))
    )
    assert all(isinstance(o, Redemption) for o in outcomes)
    redemptions = [o for o in outcomes if isinstance(o, Redemption)]
    assert len({r.coupon.code for r in redemptions}) == 1
    assert sorted(r.replayed for r in redemptions) == [False] + [True] * 9
    assert {r.balance_after for r in redemptions} == {900}
    snap = await snapshot(database, member.id)
    assert (snap["coupons"], snap["balance"]["available"]) == (1, 900)
