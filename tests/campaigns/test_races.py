"""Limits and budgets hold under races: 50 purchases at once against a campaign that affords 10
applications apply it exactly 10 times, on SQLite and on PostgreSQL, whether the 10 come from a
budget, a global usage limit or a per-member limit; a purchase answered as recorded before, and
one that fails after its claim, leave the counters as they were."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from patron.campaigns import views
from patron.campaigns.models import CampaignApplication, CampaignCounter, CampaignMemberUsage
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.ledger.verify import verify
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.errors import LimitExceededError
from patron.purchases.models import Purchase
from patron.purchases.schemas import PurchaseCreate
from patron.worker import registry
from tests.campaigns.programs import TUESDAY, with_campaigns
from tests.purchases.bulk.factories import apply, enrol

NOW = TUESDAY + timedelta(minutes=1)
CONCURRENT = 50


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
        active = await program_service.get_active_program(session, key="races")
        recorded = await record_purchase(session, active=active, data=data, now=NOW)
        return recorded.purchase.points_earned

    return await database.write_again_on_deadlock(work)


async def _race(database: Database, campaigns: str, members: list[str]) -> list[int]:
    await apply(database, "races", with_campaigns(campaigns))
    await enrol(database, (await _program_id(database)), sorted(set(members)))
    purchases = [_purchase(f"race-{n}", member) for n, member in enumerate(members)]
    return await asyncio.gather(*(_record(database, p) for p in purchases))


async def _program_id(database: Database) -> int:
    async with database.read() as session:
        return (await program_service.get_active_program(session, key="races")).program_id


async def _applications(database: Database) -> tuple[int, int]:
    async with database.read() as session:
        row = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(CampaignApplication.points), 0))
            )
        ).one()
    return int(row[0]), int(row[1])


async def _counter(database: Database, key: str) -> tuple[int, int] | None:
    async with database.read() as session:
        counter = await session.get(CampaignCounter, (await _program_id(database), key))
        return None if counter is None else (counter.uses, counter.points_spent)


def _bonus(extra: str) -> str:
    return f"""
  - key: ten
    name: {{en: "Ten only"}}
    window: {{start: "2026-12-01", end: "2026-12-31"}}
    effect: {{bonus_points: 100}}
{extra}"""


@pytest.fixture
async def wide_database(database: Database) -> AsyncIterator[Database]:
    """The test database with a pool wide enough for the purchases to really overlap."""
    wide = Database(database.url, pool_size=25)
    yield wide
    await wide.dispose()


async def _check_ledger(database: Database) -> None:
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_a_budget_for_ten_applies_exactly_ten_of_fifty(wide_database: Database) -> None:
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    points = await _race(wide_database, _bonus("    budget: {points: 1000}\n"), members)
    # 100 base points each (1,000.00 of tea at 100 per 1,000.00), +100 for ten of them
    assert sorted(points) == [100] * 40 + [200] * 10
    assert await _applications(wide_database) == (10, 1000)
    assert await _counter(wide_database, "ten") == (10, 1000)
    async with wide_database.read() as session:
        breakdowns = (await session.execute(select(Purchase.breakdown))).scalars().all()
    refused = [
        row
        for rows in breakdowns
        for row in rows
        if row["rule_id"] == "campaign:ten" and not row["applied"]
    ]
    assert len(refused) == 40
    assert all(row["reason"].startswith("budget used up: 0 of 1000") for row in refused)
    # the claim that reached 80 % of the budget emitted the one spent alert
    async with wide_database.read() as session:
        alerts = (
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "campaigns.budget_alert")
            )
        ).all()
    assert [(a["alert"], a["spent_points"], a["percent_spent"]) for a in alerts] == [
        ("spent", 800, 80)
    ]
    await _check_ledger(wide_database)


async def test_a_budget_not_divisible_by_the_cost_stops_before_it_is_passed(
    wide_database: Database,
) -> None:
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    await _race(wide_database, _bonus("    budget: {points: 1050}\n"), members)
    assert await _counter(wide_database, "ten") == (10, 1000)


async def test_a_global_usage_limit_of_ten_applies_exactly_ten(wide_database: Database) -> None:
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    points = await _race(wide_database, _bonus("    limits: {total: 10}\n"), members)
    assert sorted(points).count(200) == 10
    assert await _applications(wide_database) == (10, 1000)
    assert await _counter(wide_database, "ten") == (10, 1000)


async def test_a_per_member_limit_of_ten_applies_exactly_ten(wide_database: Database) -> None:
    points = await _race(
        wide_database, _bonus("    limits: {per_member: 10, period: month}\n"), ["one"] * CONCURRENT
    )
    assert sorted(points).count(200) == 10
    assert await _applications(wide_database) == (10, 1000)
    assert await _counter(wide_database, "ten") is None  # no global limit, no budget: no counter
    async with wide_database.read() as session:
        usage = (await session.execute(select(CampaignMemberUsage))).scalars().all()
        assert [(u.campaign_key, u.period_key, u.uses) for u in usage] == [("ten", "2026-12", 10)]


async def test_members_share_a_global_limit_while_each_keeps_a_per_member_one(
    wide_database: Database,
) -> None:
    members = [f"m-{n % 5}" for n in range(CONCURRENT)]  # five members, ten purchases each
    await _race(wide_database, _bonus("    limits: {per_member: 1, total: 3}\n"), members)
    assert await _applications(wide_database) == (3, 300)
    async with wide_database.read() as session:
        usage = (await session.execute(select(CampaignMemberUsage.uses))).scalars().all()
    assert sum(usage) == 3  # a refused claim gives its member's use back (a row at 0)
    assert max(usage) == 1


async def test_retries_of_one_purchase_claim_once(wide_database: Database) -> None:
    await apply(wide_database, "races", with_campaigns(_bonus("    budget: {points: 1000}\n")))
    await enrol(wide_database, await _program_id(wide_database), ["m"])
    same = _purchase("again", "m")
    points = await asyncio.gather(*(_record(wide_database, same) for _ in range(10)))
    assert points == [200] * 10  # every retry is answered with the first result
    assert await _counter(wide_database, "ten") == (1, 100)
    assert await _applications(wide_database) == (1, 100)


async def test_a_purchase_that_fails_after_its_claim_leaves_the_counters(
    database: Database,
) -> None:
    text = with_campaigns(_bonus("    budget: {points: 1000}\n"))
    text = text.replace("\ncampaigns:", "\nlimits:\n  max_points_per_purchase: 150\n\ncampaigns:")
    await apply(database, "races", text)
    await enrol(database, await _program_id(database), ["m"])
    with pytest.raises(LimitExceededError):
        await _record(database, _purchase("too-many", "m"))  # 100 + 100 > 150
    assert await _counter(database, "ten") is None
    assert await _applications(database) == (0, 0)


async def _money_counter(database: Database, key: str) -> tuple[int, int] | None:
    async with database.read() as session:
        counter = await session.get(CampaignCounter, (await _program_id(database), key))
        return None if counter is None else (counter.uses, counter.money_spent)


async def test_a_money_budget_for_ten_credits_applies_exactly_ten_of_fifty(
    wide_database: Database,
) -> None:
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    # 5 % cashback of 1,000.00 is 50.00: a money budget of 500.00 affords ten
    cashback = (
        '    deferred:\n      - credit_wallet: {percent: "5"}\n    budget: {money: "500.00"}\n'
    )
    points = await _race(wide_database, _bonus(cashback), members)
    assert sorted(points) == [100] * 40 + [200] * 10
    assert await _applications(wide_database) == (10, 1000)
    assert await _money_counter(wide_database, "ten") == (10, 50000)
    async with wide_database.read() as session:
        breakdowns = (await session.execute(select(Purchase.breakdown))).scalars().all()
        alerts = (
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "campaigns.budget_alert")
            )
        ).all()
    refused = [
        row["reason"]
        for rows in breakdowns
        for row in rows
        if row["rule_id"] == "campaign:ten" and not row["applied"]
    ]
    assert len(refused) == 40
    assert set(refused) == {"money budget used up: 0.00 of 500.00 RUB left, 50.00 needed"}
    assert [
        (a["alert"], a["budget"], a["spent_money"], a["budget_points"], a["percent_spent"])
        for a in alerts
    ] == [("spent", "money", "400.00", None, 80)]
    async with wide_database.read() as session:
        applied = (
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "campaigns.applied")
            )
        ).all()
    assert len(applied) == 10
    assert {(a["campaign_key"], a["trigger"], a["points"], a["cashback"]) for a in applied} == {
        ("ten", "purchase", 100, "50.00")
    }
    assert {a["occurrence"] for a in applied} == {f"purchase:{a['purchase_id']}" for a in applied}
    await _check_ledger(wide_database)
    # the dispatcher credits the ten wallets: the stats show the money given and the budget's
    await dispatch_pending(wide_database, registry.handlers(), now=NOW)
    async with wide_database.read() as session:
        active = await program_service.get_active_program(session, key="races")
        stats = await views.campaign_stats(session, active=active, key="ten", now=NOW)
    assert (stats.money_spent, stats.budget_money, stats.budget_money_spent) == (
        "500.00",
        "500.00",
        "500.00",
    )
    assert stats.budget_money_left == "0.00"


async def test_points_and_money_budgets_together_stop_at_the_first_used_up(
    wide_database: Database,
) -> None:
    members = [f"m-{n:02d}" for n in range(20)]
    both = (
        '    deferred:\n      - credit_wallet: {amount: "30.00"}\n'
        '    budget: {points: 2000, money: "150.00"}\n'
    )
    await _race(wide_database, _bonus(both), members)
    assert await _money_counter(wide_database, "ten") == (5, 15000)
    assert await _counter(wide_database, "ten") == (5, 500)
