"""Redemptions: exact balances, refusals that change nothing, tiers, stock, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError, InvalidInputError, PatronError
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.ledger.kinds import EntryKind
from patron.members import blocking
from patron.members.errors import MemberBlockedError
from patron.programs.schema import RewardKind
from patron.programs.schemas import ActiveProgram
from patron.rewards.errors import OutOfStockError, RewardNotFoundError, TierRequiredError
from patron.rewards.models import Coupon, CouponStatus
from patron.rewards.service import redeem
from tests.rewards.factories import NOW, earn_tier, enrol, member_with_points, snapshot

_ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


async def test_redeem_spends_points_and_issues_a_coupon(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="anna", points=1000)
    async with database.write() as session:
        redemption = await redeem(
            session, active=active, member_id=member.id, reward_code="DISC10", now=NOW
        )
    assert redemption.points_spent == 100
    assert redemption.balance_after == 900
    assert redemption.replayed is False
    coupon = redemption.coupon
    assert len(coupon.code) == 10
    assert set(coupon.code) <= _ALPHABET
    assert redemption.coupon_code == coupon.code
    assert (coupon.member_id, coupon.program_id, coupon.reward_code) == (
        member.id,
        active.program_id,
        "DISC10",
    )
    assert (coupon.kind, coupon.value, coupon.currency, coupon.sku) == (
        RewardKind.PERCENT_DISCOUNT,
        10,
        "RUB",
        None,
    )
    assert coupon.cost_points == 100
    assert coupon.status is CouponStatus.ACTIVE
    assert coupon.issued_at == NOW
    assert coupon.valid_until == NOW + timedelta(days=30)
    assert (coupon.consumed_at, coupon.consumed_ref, coupon.cancelled_at) == (None, None, None)
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=member.id, now=NOW)
        page = await ledger_service.entries(session, member_id=member.id)
        stored = (
            await session.execute(select(Coupon.redeem_entry_id, Coupon.refund_entry_id))
        ).one()
    assert (balance.available, balance.redeemed, balance.lifetime_earned) == (900, 100, 1000)
    redeem_entry = page.items[0]
    assert (redeem_entry.kind, redeem_entry.amount) == (EntryKind.REDEEM, -100)
    assert (redeem_entry.source_type, redeem_entry.source_id) == ("coupon", coupon.code)
    assert stored.redeem_entry_id == redeem_entry.id
    assert stored.refund_entry_id is None


async def test_money_and_product_rewards_store_exact_values(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="boris", points=1300)
    async with database.write() as session:
        gift = await redeem(
            session, active=active, member_id=member.id, reward_code="GIFT500", now=NOW
        )
        coffee = await redeem(
            session, active=active, member_id=member.id, reward_code="FREE-COFFEE", now=NOW
        )
    assert (gift.coupon.kind, gift.coupon.value, gift.balance_after) == (
        RewardKind.GIFT_CERTIFICATE,
        50000,
        300,
    )
    assert gift.coupon.valid_until == NOW + timedelta(days=180)
    assert (coffee.coupon.kind, coffee.coupon.value, coffee.coupon.sku) == (
        RewardKind.FREE_PRODUCT,
        None,
        "COFFEE-250",
    )
    assert coffee.coupon.valid_until is None  # valid_days: never
    assert coffee.balance_after == 0


async def test_a_reward_without_valid_days_gives_coupons_the_programs_default(
    database: Database, active: ActiveProgram
) -> None:
    """Issue 16: a coupon that never expires stays guessable and a liability for ever; only
    ``valid_days: never`` asks for that (``limits.default_coupon_valid_days``, 365)."""
    member = await member_with_points(database, active=active, external_id="m", points=300)
    async with database.write() as session:
        mug = await redeem(session, active=active, member_id=member.id, reward_code="MUG", now=NOW)
    assert mug.coupon.valid_until == NOW + timedelta(days=365)


@pytest.mark.parametrize(
    ("reward_code", "points", "error"),
    [
        ("DISC10", 99, InsufficientPointsError),
        ("GIFT500", 999, InsufficientPointsError),
        ("LIMITED", 49, InsufficientPointsError),  # stock taken, then rolled back
        ("NO-SUCH", 5000, RewardNotFoundError),
        ("GOLD-PREVIEW", 5000, TierRequiredError),
    ],
)
async def test_a_refused_redemption_changes_nothing(
    database: Database,
    active: ActiveProgram,
    reward_code: str,
    points: int,
    error: type[PatronError],
) -> None:
    member = await member_with_points(database, active=active, external_id="carl", points=points)
    before = await snapshot(database, member.id)
    # The error is caught inside the unit of work, which then commits: the savepoint alone
    # must have undone whatever the redemption had written.
    async with database.write() as session:
        with pytest.raises(error) as raised:
            await redeem(
                session, active=active, member_id=member.id, reward_code=reward_code, now=NOW
            )
    assert raised.value.code == error.code
    assert await snapshot(database, member.id) == before


async def test_insufficient_points_is_a_409_with_the_shortfall(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="dina", points=60)
    async with database.write() as session:
        with pytest.raises(InsufficientPointsError) as raised:
            await redeem(session, active=active, member_id=member.id, reward_code="DISC10", now=NOW)
    assert (raised.value.status, raised.value.requested, raised.value.available) == (409, 100, 60)


async def test_a_blocked_member_cannot_redeem(database: Database, active: ActiveProgram) -> None:
    member = await member_with_points(database, active=active, external_id="emil", points=500)
    async with database.write() as session:
        await blocking.block_member(session, member_id=member.id, reason="fraud", now=NOW)
    before = await snapshot(database, member.id)
    async with database.write() as session:
        with pytest.raises(MemberBlockedError):
            await redeem(session, active=active, member_id=member.id, reward_code="DISC10", now=NOW)
    assert await snapshot(database, member.id) == before


async def test_min_tier_is_403_below_and_free_at_or_above(
    database: Database, active: ActiveProgram
) -> None:
    async with database.write() as session:
        silver = await enrol(session, active=active, external_id="silver")
        gold = await enrol(session, active=active, external_id="gold")
        assert await earn_tier(session, active=active, member_id=silver.id, points=5000) == "silver"
        assert await earn_tier(session, active=active, member_id=gold.id, points=15000) == "gold"
    async with database.write() as session:
        with pytest.raises(TierRequiredError) as raised:
            await redeem(
                session, active=active, member_id=silver.id, reward_code="GOLD-PREVIEW", now=NOW
            )
        assert raised.value.status == 403
        assert (raised.value.min_tier, raised.value.tier_id) == ("gold", "silver")
        redemption = await redeem(
            session, active=active, member_id=gold.id, reward_code="GOLD-PREVIEW", now=NOW
        )
    assert (redemption.points_spent, redemption.balance_after) == (0, 15000)
    assert redemption.coupon.kind is RewardKind.EXCLUSIVE_ACCESS
    async with database.read() as session:
        page = await ledger_service.entries(session, member_id=gold.id)
        stored = (await session.execute(select(Coupon.redeem_entry_id))).one()
    assert [entry.kind for entry in page.items] == [EntryKind.EARN]  # no zero-point entry
    assert stored.redeem_entry_id is None


async def test_stock_runs_out_and_the_refusal_changes_nothing(
    database: Database, active: ActiveProgram
) -> None:
    members = [
        await member_with_points(database, active=active, external_id=f"m{i}", points=100)
        for i in range(3)
    ]
    for member in members[:2]:
        async with database.write() as session:
            redemption = await redeem(
                session, active=active, member_id=member.id, reward_code="LIMITED", now=NOW
            )
        assert (redemption.coupon.value, redemption.balance_after) == (20000, 50)
    before = await snapshot(database, members[2].id)
    assert before["stocks"] == [(active.program_id, "LIMITED", 2)]
    async with database.write() as session:
        with pytest.raises(OutOfStockError) as raised:
            await redeem(
                session, active=active, member_id=members[2].id, reward_code="LIMITED", now=NOW
            )
    assert (raised.value.code, raised.value.status) == ("out_of_stock", 409)
    assert await snapshot(database, members[2].id) == before


async def test_the_same_idempotency_key_returns_the_same_coupon(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="fay", points=1000)
    async with database.write() as session:
        first = await redeem(
            session,
            active=active,
            member_id=member.id,
            reward_code="DISC10",
            idempotency_key="order-1",
            now=NOW,
        )
    async with database.write() as session:
        again = await redeem(
            session,
            active=active,
            member_id=member.id,
            reward_code="DISC10",
            idempotency_key="order-1",
            now=NOW + timedelta(minutes=5),
        )
    assert again.coupon == first.coupon
    assert (again.replayed, again.points_spent, again.balance_after) == (True, 100, 900)
    snap = await snapshot(database, member.id)
    assert snap["coupons"] == 1
    assert snap["balance"]["available"] == 900


async def test_an_idempotency_key_reused_for_something_else_conflicts(
    database: Database, active: ActiveProgram
) -> None:
    fay = await member_with_points(database, active=active, external_id="fay", points=1000)
    gil = await member_with_points(database, active=active, external_id="gil", points=1000)
    async with database.write() as session:
        await redeem(
            session,
            active=active,
            member_id=fay.id,
            reward_code="DISC10",
            idempotency_key="k-1",
            now=NOW,
        )
    before = [await snapshot(database, fay.id), await snapshot(database, gil.id)]
    for member_id, reward_code in ((fay.id, "FREESHIP"), (gil.id, "DISC10")):
        async with database.write() as session:
            with pytest.raises(IdempotencyConflictError):
                await redeem(
                    session,
                    active=active,
                    member_id=member_id,
                    reward_code=reward_code,
                    idempotency_key="k-1",
                    now=NOW,
                )
    assert [await snapshot(database, fay.id), await snapshot(database, gil.id)] == before


async def test_without_a_key_every_call_is_a_new_redemption(
    database: Database, active: ActiveProgram
) -> None:
    member = await member_with_points(database, active=active, external_id="hana", points=250)
    codes = set()
    for _ in range(2):
        async with database.write() as session:
            redemption = await redeem(
                session, active=active, member_id=member.id, reward_code="FREESHIP", now=NOW
            )
        codes.add(redemption.coupon.code)
    assert len(codes) == 2
    assert redemption.balance_after == 50


@pytest.mark.parametrize("key", ["", "x" * 129])
async def test_a_malformed_idempotency_key_is_refused(
    database: Database, active: ActiveProgram, key: str
) -> None:
    member = await member_with_points(database, active=active, external_id="ivan", points=250)
    async with database.write() as session:
        with pytest.raises(InvalidInputError) as raised:
            await redeem(
                session,
                active=active,
                member_id=member.id,
                reward_code="DISC10",
                idempotency_key=key,
                now=NOW,
            )
    assert raised.value.field == "idempotency_key"
