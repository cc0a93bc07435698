"""The ledger's events of returns, redemptions, cancelled coupons and expiry, each written with
its change (a rollback drops it, a retry writes none), on SQLite and PostgreSQL:

- a return: ``purchases.returned``, then ``ledger.debited`` (kind ``reverse``) when it took
  points back;
- a redemption: ``ledger.debited`` (kind ``redeem``), then ``rewards.redeemed``;
- a cancelled coupon: ``ledger.credited`` (a positive ``redeem`` entry, source ``coupon``);
- expiry (the daily job, or a debit that catches the account up first): one
  ``points.expired`` per member with the points written off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import LedgerEntry
from patron.programs import service as program_service
from patron.purchases.models import PurchaseReturn
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate
from patron.rewards import service as reward_service
from tests.events.test_purchase_events import events, last_event_id, record, tea
from tests.purchases.bulk.factories import NOW, apply, enrol

Work = Callable[[AsyncSession], Awaitable[Any]]
LATER = NOW + timedelta(days=1)


async def _rolled_back(database: Database, work: Work) -> None:
    before = await last_event_id(database)

    async def fail() -> None:
        async with database.write() as session:
            await work(session)
            raise RuntimeError("the unit of work fails after the change")

    with pytest.raises(RuntimeError):
        await fail()
    assert await events(database, before) == []


async def _committed(database: Database, work: Work) -> list[tuple[str, dict[str, Any]]]:
    before = await last_event_id(database)
    async with database.write() as session:
        await work(session)
    found = await events(database, before)
    for _, program_id, member_id, payload in found:
        assert program_id is not None
        assert member_id == payload["member_id"]
    return [(name, payload) for name, _, _, payload in found]


async def _entry(database: Database, key_prefix: str) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(LedgerEntry.id)
            .where(LedgerEntry.idempotency_key.startswith(key_prefix))
            .order_by(LedgerEntry.id.desc())
        )
    assert found is not None
    return int(found)


async def _setup(database: Database) -> tuple[int, int]:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    done = await record(database, tea("p-1", price="10000.00"))  # 1,500 points, active by NOW
    assert done.purchase.points_earned == 1500
    return member_id, done.purchase.id


async def test_a_return_emits_returned_then_debited(database: Database) -> None:
    member_id, purchase_id = await _setup(database)

    async def half(session: AsyncSession) -> None:
        active = await program_service.get_active_program(session, key="main")
        data = ReturnCreate(external_id="r-1", amount="5000.00")
        await record_return(session, active=active, purchase_id=purchase_id, data=data, now=LATER)

    await _rolled_back(database, half)
    emitted = await _committed(database, half)
    async with database.read() as session:
        return_id = await session.scalar(select(PurchaseReturn.id))
    assert emitted == [
        (
            "purchases.returned",
            {
                "member_id": member_id,
                "purchase_id": purchase_id,
                "return_id": return_id,
                "amount": 500000,
                "points_reversed": 750,
            },
        ),
        (
            "ledger.debited",
            {
                "member_id": member_id,
                "entry_id": await _entry(database, f"return:{purchase_id}:"),
                "kind": "reverse",
                "points": 750,
                "source": "return",
            },
        ),
    ]
    assert await _committed(database, half) == []  # the retry


async def test_a_return_of_an_anonymous_purchase_emits_returned_only(database: Database) -> None:
    await apply(database, "main")
    done = await record(database, tea("a-1", member=None))

    async def whole(session: AsyncSession) -> None:
        active = await program_service.get_active_program(session, key="main")
        data = ReturnCreate(external_id="r-1")
        await record_return(
            session, active=active, purchase_id=done.purchase.id, data=data, now=LATER
        )

    [(name, payload)] = await _committed(database, whole)
    assert name == "purchases.returned"
    assert (payload["member_id"], payload["amount"], payload["points_reversed"]) == (None, 10000, 0)


async def test_a_redemption_and_its_cancellation(database: Database) -> None:
    member_id, _ = await _setup(database)

    async def redeem(session: AsyncSession) -> None:
        active = await program_service.get_active_program(session, key="main")
        await reward_service.redeem(
            session,
            active=active,
            member_id=member_id,
            reward_code="DISC10",
            idempotency_key="k-1",
            now=LATER,
        )

    await _rolled_back(database, redeem)
    emitted = await _committed(database, redeem)
    coupon = emitted[1][1]["coupon_code"]
    assert emitted == [
        (
            "ledger.debited",
            {
                "member_id": member_id,
                "entry_id": await _entry(database, "rewards:redeem:"),
                "kind": "redeem",
                "points": 100,
                "source": "coupon",
            },
        ),
        (
            "rewards.redeemed",
            {"member_id": member_id, "reward_key": "DISC10", "points": 100, "coupon_code": coupon},
        ),
    ]
    assert await _committed(database, redeem) == []  # the replay

    async def cancel(session: AsyncSession) -> None:
        active = await program_service.get_active_program(session, key="main")
        await reward_service.cancel_coupon(session, active=active, code=coupon, now=LATER)

    await _rolled_back(database, cancel)
    assert await _committed(database, cancel) == [
        (
            "ledger.credited",
            {
                "member_id": member_id,
                "entry_id": await _entry(database, "rewards:cancel:"),
                "kind": "redeem",
                "points": 100,
                "source": "coupon",
            },
        )
    ]


async def test_expiry_emits_points_expired_per_member(database: Database) -> None:
    member_id, _ = await _setup(database)
    program_id = await apply(database, "main")
    other = (await enrol(database, program_id, ["e-1"]))["e-1"]
    await record(database, tea("p-2", member="e-1"))  # 10 points
    await record(database, tea("p-3", member="e-1"))  # 10 more, another lot
    years_later = NOW + timedelta(days=3 * 365)

    async def expire(session: AsyncSession) -> None:
        assert await ledger_service.expire_due(session, now=years_later, batch_size=1) == 3

    await _rolled_back(database, expire)
    assert await _committed(database, expire) == [
        ("points.expired", {"member_id": member_id, "points": 1500}),
        ("points.expired", {"member_id": other, "points": 20}),
    ]

    async def again(session: AsyncSession) -> None:
        assert await ledger_service.expire_due(session, now=years_later) == 0

    assert await _committed(database, again) == []


async def test_a_debit_that_expires_lots_first_emits_points_expired(database: Database) -> None:
    """A redemption catches the account up before it spends: the lots it writes off are
    announced as the daily job would have announced them."""
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    await record(database, tea("p-1", price="10000.00"))  # 1,500 points
    years_later = NOW + timedelta(days=3 * 365)
    async with database.write() as session:  # a fresh lot that has not expired
        await ledger_service.credit(
            session,
            member_id=member_id,
            amount=200,
            kind=EntryKind.ADJUST,
            idempotency_key="test:fresh",
            source_type="test",
            source_id="fresh",
            now=years_later,
        )

    async def redeem(session: AsyncSession) -> None:
        active = await program_service.get_active_program(session, key="main")
        await reward_service.redeem(
            session,
            active=active,
            member_id=member_id,
            reward_code="DISC10",
            idempotency_key="k-2",
            now=years_later,
        )

    emitted = await _committed(database, redeem)
    assert [(name, payload.get("points")) for name, payload in emitted] == [
        ("points.expired", 1500),
        ("ledger.debited", 100),
        ("rewards.redeemed", 100),
    ]
