"""Limits and budgets of trigger campaigns hold under races, on SQLite and PostgreSQL: 50 custom
events at once against a campaign that affords 10 applications apply it exactly 10 times,
whether the 10 come from a budget (of points or of money for a wallet credit), a global usage
limit or a per-member limit; 50 retries of
one event at once credit it once. The same claims as purchase campaigns
(``tests/campaigns/test_races.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.custom_events import record_event
from patron.campaigns.event_schemas import CustomEventCreate
from patron.campaigns.models import CampaignCounter
from patron.kit.db import Database
from patron.ledger.verify import verify
from patron.programs import service as program_service
from patron.wallet.models import WalletEntry
from tests.campaigns.triggers import NOW, apply_program, awards, campaign_credits, enrol

CONCURRENT = 50


def _campaign(extra: str) -> str:
    return f"""
  - key: ten
    name: {{en: "Ten only"}}
    window: {{start: "2026-12-01", end: "2026-12-31"}}
    trigger: event
    event: social_share
    effect: {{bonus_points: 100}}
{extra}"""


@pytest.fixture
async def wide_database(database: Database) -> AsyncIterator[Database]:
    """The test database with a pool wide enough for the events to really overlap."""
    wide = Database(database.url, pool_size=25)
    yield wide
    await wide.dispose()


async def _post(database: Database, member: str, key: str) -> tuple[int, int]:
    data = CustomEventCreate.model_validate(
        {
            "member_external_id": member,
            "type": "social_share",
            "occurred_at": NOW.isoformat(),
            "idempotency_key": key,
        }
    )

    async def work(session: AsyncSession) -> tuple[int, int]:
        active = await program_service.get_active_program(session)
        recorded = await record_event(session, active=active, data=data, now=NOW)
        return recorded.event.id, recorded.event.points

    return await database.write_again_on_deadlock(work)


async def _race(database: Database, extra: str, members: list[str]) -> list[int]:
    program_id = await apply_program(database, _campaign(extra))
    for member in sorted(set(members)):
        await enrol(database, program_id, member)
    posts = [_post(database, member, f"share-{n}") for n, member in enumerate(members)]
    return [points for _, points in await asyncio.gather(*posts)]


async def _counter(database: Database) -> tuple[int, int] | None:
    async with database.read() as session:
        program = await program_service.get_active_program(session)
        counter = await session.get(CampaignCounter, (program.program_id, "ten"))
        return None if counter is None else (counter.uses, counter.points_spent)


async def _check(database: Database) -> None:
    assert len(await awards(database)) == 10
    assert sum(points for _, _, points, _ in await campaign_credits(database)) == 1000
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_a_budget_for_ten_applies_exactly_ten_of_fifty(wide_database: Database) -> None:
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    points = await _race(wide_database, "    budget: {points: 1000}\n", members)
    assert sorted(points) == [0] * 40 + [100] * 10
    assert await _counter(wide_database) == (10, 1000)
    await _check(wide_database)


async def test_a_global_limit_of_ten_applies_exactly_ten(wide_database: Database) -> None:
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    points = await _race(wide_database, "    limits: {total: 10}\n", members)
    assert sorted(points) == [0] * 40 + [100] * 10
    assert await _counter(wide_database) == (10, 1000)
    await _check(wide_database)


async def test_a_per_member_limit_of_ten_applies_exactly_ten(wide_database: Database) -> None:
    points = await _race(wide_database, "    limits: {per_member: 10}\n", ["ann"] * CONCURRENT)
    assert sorted(points) == [0] * 40 + [100] * 10
    await _check(wide_database)


async def test_fifty_retries_of_one_event_credit_it_once(wide_database: Database) -> None:
    program_id = await apply_program(wide_database, _campaign(""))
    member = await enrol(wide_database, program_id, "ann")
    answers = await asyncio.gather(*(_post(wide_database, "ann", "once") for _ in range(50)))
    assert len(set(answers)) == 1
    event_id, points = answers[0]
    assert points == 100
    assert await campaign_credits(wide_database) == [
        (member, "ten", 100, f"campaign:ten:{member}:event:{event_id}")
    ]


async def test_a_money_budget_for_ten_credits_exactly_ten_wallets(
    wide_database: Database,
) -> None:
    """A trigger's wallet credit claims its money with the points, in one statement: 50
    events at once against a money budget that affords 10 credits of 50.00 credit 10."""
    extra = '    deferred: [{credit_wallet: {amount: "50.00"}}]\n    budget: {money: "500.00"}\n'
    members = [f"m-{n:02d}" for n in range(CONCURRENT)]
    points = await _race(wide_database, extra, members)
    assert sorted(points) == [0] * 40 + [100] * 10
    async with wide_database.read() as session:
        program = await program_service.get_active_program(session)
        counter = await session.get(CampaignCounter, (program.program_id, "ten"))
        assert counter is not None
        assert (counter.uses, counter.points_spent, counter.money_spent) == (10, 1000, 50000)
        credits = list(await session.scalars(select(WalletEntry.amount)))
    assert credits == [5000] * 10
    await _check(wide_database)
