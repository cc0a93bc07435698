"""Coupons: validate, consume once (idempotent by ref), expiry, cancel with a refund lot."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import Lot
from patron.members.schemas import Member
from patron.programs.expiry import expiry_for
from patron.programs.schemas import ActiveProgram
from patron.rewards.errors import (
    CouponCancelledError,
    CouponExpiredError,
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
)
from patron.rewards.models import Coupon, CouponStatus
from patron.rewards.schemas import CouponView
from patron.rewards.service import (
    cancel_coupon,
    consume_coupon,
    list_coupons,
    redeem,
    validate_coupon,
)
from tests.rewards.factories import NOW, member_with_points, snapshot

LATER = NOW + timedelta(days=3)


async def _redeemed(
    database: Database, active: ActiveProgram, member: Member, reward_code: str = "DISC10"
) -> CouponView:
    async with database.write() as session:
        redemption = await redeem(
            session, active=active, member_id=member.id, reward_code=reward_code, now=NOW
        )
    return redemption.coupon


@pytest.fixture
async def anna(database: Database, active: ActiveProgram) -> Member:
    return await member_with_points(database, active=active, external_id="anna", points=1000)


@pytest.fixture
async def boris(database: Database, active: ActiveProgram) -> Member:
    return await member_with_points(database, active=active, external_id="boris", points=0)


async def test_validate_returns_an_active_coupon(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    coupon = await _redeemed(database, active, anna)
    async with database.read() as session:
        seen = await validate_coupon(session, code=coupon.code, member_id=anna.id, now=LATER)
        anyone = await validate_coupon(session, code=coupon.code.lower(), now=LATER)
    assert seen == coupon == anyone


async def test_validate_errors(
    database: Database, active: ActiveProgram, anna: Member, boris: Member
) -> None:
    coupon = await _redeemed(database, active, anna)
    expires = NOW + timedelta(days=30)
    cases: list[tuple[str, int | None, datetime, type[PatronError], int]] = [
        ("NOSUCHCODE", None, LATER, CouponNotFoundError, 404),
        (coupon.code, boris.id, LATER, CouponNotYoursError, 403),
        (coupon.code, anna.id, expires, CouponExpiredError, 409),
    ]
    async with database.read() as session:
        for code, member_id, now, error, status in cases:
            with pytest.raises(error) as raised:
                await validate_coupon(session, code=code, member_id=member_id, now=now)
            assert raised.value.status == status
        still = await validate_coupon(
            session, code=coupon.code, now=expires - timedelta(microseconds=1)
        )
    assert still.status is CouponStatus.ACTIVE


async def test_consume_once_then_same_ref_is_idempotent_and_another_is_refused(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    coupon = await _redeemed(database, active, anna)
    async with database.write() as session:
        used = await consume_coupon(
            session, code=coupon.code, now=LATER, ref="order-7", member_id=anna.id
        )
    assert (used.status, used.consumed_at, used.consumed_ref) == (
        CouponStatus.CONSUMED,
        LATER,
        "order-7",
    )
    async with database.write() as session:
        again = await consume_coupon(
            session, code=coupon.code, now=LATER + timedelta(hours=1), ref="order-7"
        )
    assert again == used
    for ref in ("order-8", None):
        async with database.write() as session:
            with pytest.raises(CouponUsedError):
                await consume_coupon(session, code=coupon.code, now=LATER, ref=ref)
    async with database.read() as session:
        with pytest.raises(CouponUsedError):
            await validate_coupon(session, code=coupon.code, now=LATER)


async def test_consume_without_ref_twice_is_refused(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    coupon = await _redeemed(database, active, anna)
    async with database.write() as session:
        used = await consume_coupon(session, code=coupon.code, now=LATER)
        assert used.consumed_ref is None
        with pytest.raises(CouponUsedError):
            await consume_coupon(session, code=coupon.code, now=LATER)


async def test_consume_refusals_leave_the_coupon_active(
    database: Database, active: ActiveProgram, anna: Member, boris: Member
) -> None:
    coupon = await _redeemed(database, active, anna)
    expires = NOW + timedelta(days=30)
    async with database.write() as session:
        with pytest.raises(CouponNotYoursError):
            await consume_coupon(session, code=coupon.code, now=LATER, member_id=boris.id)
        with pytest.raises(CouponExpiredError):
            await consume_coupon(session, code=coupon.code, now=expires, ref="late")
        with pytest.raises(CouponNotFoundError):
            await consume_coupon(session, code="ZZZZZZZZZZ", now=LATER)
    async with database.read() as session:
        assert await validate_coupon(session, code=coupon.code, now=LATER) == coupon


async def test_a_free_product_coupon_without_expiry_never_expires(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    coupon = await _redeemed(database, active, anna, "FREE-COFFEE")
    far = NOW + timedelta(days=3650)
    async with database.write() as session:
        used = await consume_coupon(session, code=coupon.code, now=far, ref="o-1")
    assert (used.valid_until, used.consumed_at) == (None, far)


async def test_cancel_refunds_the_points_as_a_new_lot(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    coupon = await _redeemed(database, active, anna)
    async with database.write() as session:
        cancellation = await cancel_coupon(session, active=active, code=coupon.code, now=LATER)
    assert (cancellation.points_refunded, cancellation.balance_after) == (100, 1000)
    assert cancellation.coupon.status is CouponStatus.CANCELLED
    assert cancellation.coupon.cancelled_at == LATER
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=anna.id, now=LATER)
        page = await ledger_service.entries(session, member_id=anna.id)
        lots = (
            await session.execute(
                select(Lot.amount, Lot.remaining, Lot.expires_at, Lot.entry_id)
                .where(Lot.member_id == anna.id)
                .order_by(Lot.id)
            )
        ).all()
        refund_entry_id = (await session.execute(select(Coupon.refund_entry_id))).scalar_one()
    assert (balance.available, balance.redeemed, balance.lifetime_earned) == (1000, 0, 1000)
    refund, spend, _earn = page.items
    assert (refund.kind, refund.amount, refund.source_id) == (EntryKind.REDEEM, 100, coupon.code)
    assert (spend.kind, spend.amount) == (EntryKind.REDEEM, -100)
    # The earned lot keeps its spent state; the refund is a new lot expiring from LATER.
    assert [tuple(lot[:3]) for lot in lots] == [
        (1000, 900, expiry_for(active.program, NOW)),
        (100, 100, expiry_for(active.program, LATER)),
    ]
    assert lots[1].entry_id == refund.id == refund_entry_id


async def test_cancel_gives_the_stock_back(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    first = await _redeemed(database, active, anna, "LIMITED")
    await _redeemed(database, active, anna, "LIMITED")
    async with database.write() as session:
        await cancel_coupon(session, active=active, code=first.code, now=LATER)
    assert (await snapshot(database, anna.id))["stocks"] == [(active.program_id, "LIMITED", 1)]
    third = await _redeemed(database, active, anna, "LIMITED")
    assert third.code != first.code
    snap = await snapshot(database, anna.id)
    assert snap["stocks"] == [(active.program_id, "LIMITED", 2)]
    assert snap["balance"]["available"] == 1000 - 3 * 50 + 50


async def test_cancel_refusals_change_nothing(
    database: Database, active: ActiveProgram, anna: Member
) -> None:
    used = await _redeemed(database, active, anna)
    cancelled = await _redeemed(database, active, anna)
    expiring = await _redeemed(database, active, anna)
    async with database.write() as session:
        await consume_coupon(session, code=used.code, now=LATER, ref="o-1")
        await cancel_coupon(session, active=active, code=cancelled.code, now=LATER)
    before = await snapshot(database, anna.id)
    assert before["balance"]["available"] == 800
    cases: list[tuple[str, datetime, type[PatronError]]] = [
        (used.code, LATER, CouponUsedError),
        (cancelled.code, LATER, CouponCancelledError),
        (expiring.code, NOW + timedelta(days=30), CouponExpiredError),
        ("NOSUCHCODE", LATER, CouponNotFoundError),
    ]
    for code, now, error in cases:
        async with database.write() as session:
            with pytest.raises(error):
                await cancel_coupon(session, active=active, code=code, now=now)
    assert await snapshot(database, anna.id) == before
    async with database.read() as session:
        with pytest.raises(CouponCancelledError):
            await validate_coupon(session, code=cancelled.code, now=LATER)
        with pytest.raises(CouponCancelledError):
            await consume_coupon(session, code=cancelled.code, now=LATER, ref="o-2")


async def test_list_coupons_newest_first_and_by_status(
    database: Database, active: ActiveProgram, anna: Member, boris: Member
) -> None:
    first = await _redeemed(database, active, anna)
    second = await _redeemed(database, active, anna, "FREESHIP")
    async with database.write() as session:
        await consume_coupon(session, code=first.code, now=LATER)
    async with database.read() as session:
        every = await list_coupons(session, member_id=anna.id)
        active_only = await list_coupons(session, member_id=anna.id, status=CouponStatus.ACTIVE)
        none = await list_coupons(session, member_id=boris.id)
    assert [coupon.code for coupon in every] == [second.code, first.code]
    assert [coupon.code for coupon in active_only] == [second.code]
    assert none == []
