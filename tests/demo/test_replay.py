"""A small store (60 members, three months) replayed through the real services end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from patron.access import service as access_service
from patron.access.models import Role
from patron.demo.generator import (
    DemoSettings,
    DemoStore,
    PurchaseEvent,
    ReturnEvent,
    generate_store,
)
from patron.demo.replay import ReplaySummary, replay_store
from patron.kit.db import Database
from patron.kit.money import parse_amount
from patron.ledger import service as ledger_service
from patron.ledger.verify import verify
from patron.members import service as member_service
from patron.programs import service as program_service
from patron.purchases.earn import get_purchase
from patron.rewards import service as reward_service
from patron.rewards.models import CouponStatus
from patron.tiers import service as tier_service
from patron.tiers.policy import qualified_tier, rank

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
FINISHED = NOW + timedelta(minutes=5)


def purchases_of(store: DemoStore) -> list[PurchaseEvent]:
    return [event for event in store.events if isinstance(event, PurchaseEvent)]


def expected_first_points(purchase: PurchaseEvent) -> int:
    """The seed program for a member without a tier: 1 point per 10 RUB of goods, coffee
    counted twice, 500 more from 10,000 RUB of goods (the weekend boost is for December)."""
    eligible = sum(line.amount * (2 if line.category == "coffee" else 1) for line in purchase.lines)
    goods = purchase.total - purchase.shipping
    return eligible // 1000 + (500 if goods >= 1_000_000 else 0)


async def test_small_store_replays_consistently(database: Database) -> None:
    """One replay (they take seconds), checked from every side."""
    store = generate_store(DemoSettings(now=NOW, members=60, days=91, seed=5))
    replayed = await replay_store(database, store, clock=lambda: FINISHED)
    check_summary(store, replayed)
    await check_ledger(database, replayed)
    await check_tiers(database, replayed)
    await check_purchases(database, store, replayed)
    await check_coupons_and_admin_key(database, replayed)


def check_summary(store: DemoStore, replayed: ReplaySummary) -> None:
    purchases = purchases_of(store)
    assert replayed.members == 60
    assert replayed.purchases == len(purchases)
    assert replayed.member_purchases == sum(1 for p in purchases if p.member_external_id)
    assert replayed.returns == store.count(ReturnEvent)
    assert sum(replayed.members_per_tier.values()) == 60
    assert replayed.job_runs == 7  # 6 two-week periods in 13 weeks, then once as of now


async def check_ledger(database: Database, replayed: ReplaySummary) -> None:
    async with database.read() as session:
        assert await verify(session, now=FINISHED) == []
        balances = [
            await ledger_service.balance(session, member_id=member_id, now=FINISHED)
            for member_id in replayed.member_ids.values()
        ]
    assert sum(b.lifetime_earned for b in balances) == (
        replayed.points_earned - replayed.points_reversed
    )
    assert sum(b.redeemed for b in balances) == replayed.points_redeemed
    assert sum(b.available + b.pending for b in balances) == (
        replayed.points_earned - replayed.points_reversed - replayed.points_redeemed
        - sum(b.expired for b in balances)
    )  # fmt: skip
    assert all(b.available >= -b.debt for b in balances)


async def check_tiers(database: Database, replayed: ReplaySummary) -> None:
    async with database.read() as session:
        active = await program_service.get_active_program(session)
        program = active.program
        members = [
            await member_service.get_member(session, member_id=member_id)
            for member_id in replayed.member_ids.values()
        ]
        found = await tier_service.metrics(
            session, program=program, member_ids=[m.id for m in members], now=FINISHED
        )
    for member in members:
        qualified = qualified_tier(program, found[member.id])
        # upgrades are immediate; a downgrade waits for a review and goes one level at a time
        assert 0 <= rank(program, member.tier_id) - rank(program, qualified) <= 1
    assert list(replayed.members_per_tier) == ["none", "bronze", "silver", "gold"]
    assert replayed.members_per_tier == {
        tier: sum(1 for m in members if (m.tier_id or "none") == tier)
        for tier in replayed.members_per_tier
    }
    assert replayed.members_per_tier["none"] < 60


async def check_purchases(database: Database, store: DemoStore, replayed: ReplaySummary) -> None:
    seen_members: set[str] = set()
    checked_guests = checked_firsts = 0
    async with database.read() as session:
        for event in purchases_of(store):
            stored = await get_purchase(
                session, purchase_id=replayed.purchase_ids[event.external_id]
            )
            assert stored.total == f"{event.total // 100}.{event.total % 100:02d}"
            assert len(stored.lines) == len(event.lines)
            if event.member_external_id is None:
                assert (stored.member_id, stored.points_earned) == (None, 0)
                assert stored.pending_until is None
                checked_guests += 1
            elif event.member_external_id not in seen_members:
                seen_members.add(event.member_external_id)
                assert stored.member_id == replayed.member_ids[event.member_external_id]
                assert stored.points_earned == expected_first_points(event)
                checked_firsts += 1
        for refund in (event for event in store.events if isinstance(event, ReturnEvent)):
            stored = await get_purchase(
                session, purchase_id=replayed.purchase_ids[refund.purchase_external_id]
            )
            if refund.lines is None:
                assert (stored.refunded, stored.points_reversed) == (
                    stored.total,
                    stored.points_earned,
                )
            else:
                assert 0 < parse_amount(stored.refunded, "RUB") < parse_amount(stored.total, "RUB")
                assert (
                    0 <= stored.points_reversed < stored.points_earned or stored.points_earned == 0
                )
    assert checked_guests > 10
    assert checked_firsts > 30


async def check_coupons_and_admin_key(database: Database, replayed: ReplaySummary) -> None:
    async with database.read() as session:
        consumed = 0
        issued = 0
        for member_id in replayed.member_ids.values():
            coupons = await reward_service.list_coupons(session, member_id=member_id)
            issued += len(coupons)
            consumed += sum(1 for c in coupons if c.status is CouponStatus.CONSUMED)
        principal = await access_service.authenticate(session, secret=replayed.admin_key)
    assert issued == replayed.redemptions
    assert consumed == replayed.coupons_used
    assert principal.role is Role.ADMIN
