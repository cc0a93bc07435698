"""Instant prizes and raffles on the database (SQLite and PostgreSQL): every N-th holds under
50 concurrent purchases, a probability prize is recomputed by an auditor from the revealed
seed, a raffle is drawn once and reproducibly, and bad draws are refused with clear errors."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from patron.campaigns import raffles, views
from patron.campaigns.errors import CampaignNotFoundError, NotARaffleError, RaffleNotEndedError
from patron.campaigns.models import CampaignApplication, CampaignCounter, RaffleEntry
from patron.campaigns.prizes import commit_active_seeds
from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.kit.outbox import OutboxEvent
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rewards.models import Coupon
from patron.rules.vocabulary.prizes import draw_winners
from tests.campaigns.programs import TUESDAY, with_campaigns
from tests.purchases.bulk.factories import apply, enrol

NOW = TUESDAY + timedelta(minutes=1)
AFTER = datetime(2027, 1, 2, tzinfo=UTC)  # the December windows are over
KEY = "prizes"

EVERY_FIFTH = """
  - key: fifth
    name: {en: "Every fifth"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    prize: {every: 5}
    effect: {bonus_points: 100}
    deferred:
      - issue_reward: {reward: FREESHIP}
"""
LUCKY = """
  - key: lucky
    name: {en: "Lucky"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    prize: {probability: "0.3"}
    effect: {bonus_points: 100}
"""
RAFFLE = """
  - key: raffle
    name: {en: "December raffle"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    raffle: {per_amount: "500.00", winners: 2}
"""


def _purchase(external_id: str, member: str, total: str = "1000.00") -> PurchaseCreate:
    return PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_external_id": member,
            "occurred_at": TUESDAY.isoformat(),
            "currency": "RUB",
            "total": total,
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": total}],
        }
    )


async def _record(database: Database, data: PurchaseCreate) -> int:
    async def work(session):  # type: ignore[no-untyped-def]
        active = await program_service.get_active_program(session, key=KEY)
        recorded = await record_purchase(session, active=active, data=data, now=NOW)
        return recorded.purchase.points_earned

    return await database.write_again_on_deadlock(work)


async def _setup(database: Database, campaigns: str, members: list[str]) -> int:
    program_id = await apply(database, KEY, with_campaigns(campaigns))
    async with database.write() as session:
        await commit_active_seeds(session, program_key=KEY, now=NOW)
    await enrol(database, program_id, sorted(set(members)))
    return program_id


@pytest.fixture
async def wide_database(database: Database) -> AsyncIterator[Database]:
    """The test database with a pool wide enough for the purchases to really overlap."""
    wide = Database(database.url, pool_size=25)
    yield wide
    await wide.dispose()


async def _campaign(database: Database, key: str, now: datetime):  # type: ignore[no-untyped-def]
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=KEY)
        return await views.get_campaign(session, active=active, key=key, now=now)


async def test_every_fifth_of_fifty_concurrent_purchases_wins_exactly_ten(
    wide_database: Database,
) -> None:
    members = [f"m-{n:02d}" for n in range(50)]
    program_id = await _setup(wide_database, EVERY_FIFTH, members)
    purchases = [_purchase(f"race-{n}", member) for n, member in enumerate(members)]
    points = await asyncio.gather(*(_record(wide_database, p) for p in purchases))
    assert sorted(points) == [100] * 40 + [200] * 10
    async with wide_database.read() as session:
        counter = await session.get(CampaignCounter, (program_id, "fifth"))
        assert counter is not None
        assert counter.draws == 50  # uses and points are counted only with a limit or budget
        applied = (
            await session.execute(select(func.count(), func.sum(CampaignApplication.points)))
        ).one()
        assert tuple(applied) == (10, 1000)
        breakdowns = (await session.execute(select(Purchase.breakdown))).scalars().all()
        due = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "purchases.effects_due")
        )
        assert len(due.all()) == 10  # each winner's coupon is due, nobody else's
    lost = sorted(
        row["reason"]
        for rows in breakdowns
        for row in rows
        if row["rule_id"] == "campaign:fifth" and not row["applied"]
    )
    assert len(lost) == 40
    numbers = sorted(int(reason.split("purchase ")[1].split(";")[0]) for reason in lost)
    assert numbers == [n for n in range(1, 51) if n % 5]  # each count drawn once
    shown = await _campaign(wide_database, "fifth", NOW)
    assert shown.draws == 50
    assert shown.prize == {"every": 5}


async def test_a_retried_purchase_is_counted_once(database: Database) -> None:
    program_id = await _setup(database, EVERY_FIFTH, ["m"])
    for _ in range(3):
        await _record(database, _purchase("same", "m"))
    async with database.read() as session:
        counter = await session.get(CampaignCounter, (program_id, "fifth"))
        assert counter is not None
        assert counter.draws == 1


async def test_an_auditor_recomputes_a_probability_prize_from_the_revealed_seed(
    database: Database,
) -> None:
    await _setup(database, LUCKY, ["ann"])
    before = await _campaign(database, "lucky", NOW)
    assert before.seed is None  # hidden while the campaign runs
    assert before.seed_hash is not None
    for n in range(40):
        await _record(database, _purchase(f"p-{n}", "ann"))
    async with database.read() as session:
        rows = (await session.execute(select(Purchase.external_id, Purchase.breakdown))).all()
    won = {
        purchase: any(r["rule_id"] == "campaign:lucky" and r["applied"] for r in breakdown)
        for purchase, breakdown in rows
    }
    assert len(won) == 40
    assert 0 < sum(won.values()) < 40
    after = await _campaign(database, "lucky", AFTER)
    seed = after.seed
    assert seed is not None
    assert hashlib.sha256(seed.encode()).hexdigest() == before.seed_hash  # the commitment holds
    for purchase, did_win in won.items():
        mac = hmac.new(bytes.fromhex(seed), f"lucky:{purchase}".encode(), hashlib.sha256)
        assert (int(mac.hexdigest(), 16) % 1_000_000 < 300_000) == did_win, purchase


async def _buy_entries(database: Database) -> None:
    await _setup(database, RAFFLE, ["ann", "bob", "cid", "dan"])
    totals = {"ann": "1000.00", "bob": "2600.00", "cid": "499.00", "dan": "500.00"}
    for n, (member, total) in enumerate(totals.items()):
        await _record(database, _purchase(f"r-{n}", member, total))
    await _record(database, _purchase("r-again", "ann", "1500.00"))


async def _draw(database: Database, now: datetime, winners: int | None = None):  # type: ignore[no-untyped-def]
    async with database.write() as session:
        active = await program_service.get_active_program(session, key=KEY)
        return await raffles.draw_raffle(
            session, active=active, key="raffle", winners=winners, now=now, drawn_by="tests"
        )


async def test_a_raffle_is_drawn_once_reproducibly_from_its_committed_seed(
    database: Database,
) -> None:
    await _buy_entries(database)
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=KEY)
        before = await raffles.raffle_view(session, active=active, key="raffle", now=NOW)
        rows = (await session.execute(select(RaffleEntry.entries))).scalars().all()
    assert sorted(rows) == [1, 2, 3, 5]  # cid's 499.00 earns none
    assert (before.entries, before.participants, before.drawn) == (11, 3, False)
    assert before.seed is None
    assert before.seed_hash is not None
    assert before.winners == []

    with pytest.raises(RaffleNotEndedError, match="drawn once its window is over"):
        await _draw(database, NOW)

    drawn = await _draw(database, AFTER)
    assert drawn.drawn
    assert drawn.seed is not None
    assert hashlib.sha256(drawn.seed.encode()).hexdigest() == before.seed_hash
    assert len(drawn.winners) == 2  # the raffle's default
    tickets = [(e.member_id, e.entries) for e in drawn.entries_by_member]
    assert sum(entries for _, entries in tickets) == 11
    # anyone with the seed and the entries draws the same winners
    assert [w.member_id for w in drawn.winners] == draw_winners(drawn.seed, "raffle", tickets, 2)

    again = await _draw(database, AFTER + timedelta(days=1), winners=3)
    assert again.winners == drawn.winners  # recorded: the second draw answers the first
    assert again.seed == drawn.seed
    async with database.read() as session:
        events = (
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "campaigns.raffle_drawn")
            )
        ).all()
    assert len(events) == 1
    assert events[0]["winners"] == [w.member_id for w in drawn.winners]
    assert events[0]["seed"] == drawn.seed
    assert events[0]["entries"] == 11


async def test_bad_draws_are_refused_and_change_nothing(database: Database) -> None:
    await _setup(database, RAFFLE + LUCKY, ["ann"])
    async with database.write() as session:
        active = await program_service.get_active_program(session, key=KEY)
        with pytest.raises(CampaignNotFoundError):
            await raffles.draw_raffle(
                session, active=active, key="nope", winners=None, now=AFTER, drawn_by="t"
            )
        with pytest.raises(NotARaffleError) as not_raffle:
            await raffles.draw_raffle(
                session, active=active, key="lucky", winners=None, now=AFTER, drawn_by="t"
            )
        assert not_raffle.value.field == "key"
        with pytest.raises(InvalidInputError) as too_many:
            await raffles.draw_raffle(
                session, active=active, key="raffle", winners=1001, now=AFTER, drawn_by="t"
            )
        assert too_many.value.field == "winners"
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=KEY)
        assert not (
            await raffles.raffle_view(session, active=active, key="raffle", now=AFTER)
        ).drawn


async def test_an_empty_raffle_draws_no_winners(database: Database) -> None:
    await _setup(database, RAFFLE, [])
    drawn = await _draw(database, AFTER)
    assert (drawn.drawn, drawn.winners, drawn.entries) == (True, [], 0)


async def test_a_coupon_prize_with_no_points(database: Database) -> None:
    coupon_only = EVERY_FIFTH.replace("    effect: {bonus_points: 100}\n", "")
    await _setup(database, coupon_only, ["ann"])
    points = [await _record(database, _purchase(f"c-{n}", "ann")) for n in range(5)]
    assert points == [100] * 5  # the base points only: the prize is the coupon
    async with database.read() as session:
        due = (
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "purchases.effects_due")
            )
        ).all()
        assert len(due) == 1
        assert await session.scalar(select(func.count()).select_from(Coupon)) == 0  # not yet run
