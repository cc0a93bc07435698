"""The replay gives every purchase the points of the per-event path: random purchases are
recorded one by one through ``record_purchase`` (which evaluates them with
``rules.engine.evaluate``), each at its own time, then the simulator reads them back from the
database and replays them under the same program. Per purchase the points must be equal, and
at the end the members' tiers. The histories are short enough (within one rolling or
calendar year) that no review would downgrade anyone, so that both paths move the same way.

Two programs: the seed program (points tiers over a rolling year, a monthly limit, pending
days), the import tests' variant (money tiers in a calendar year, a tier-dependent
``stop_after`` rule before limited rules) and a program whose limited rule names a tier (the
replay's fixed-point path)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from patron.campaigns.models import CampaignApplication, RaffleEntry
from patron.kit.db import Database
from patron.members.models import Member
from patron.programs import service as program_service
from patron.programs.loader import load_program
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase
from patron.simulator.balances import month_grid
from patron.simulator.history import history_from_rows
from patron.simulator.replay import replay
from patron.simulator.repository import SimulatorRepository
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import (
    VARIANT_PROGRAM,
    apply,
    enrol,
    file_order,
    random_purchases,
)
from tests.simulator.factories import CAMPAIGN_PROGRAM, STACKED_PROGRAM, WELCOME_PROGRAM

MEMBERS = [f"c-{n}" for n in range(8)]


async def _record_at_their_time(database: Database, text: str, seed: int, start: datetime,
                                currency: str, big: int) -> int:  # fmt: skip
    program_id = await apply(database, "default", text)
    await enrol(database, program_id, MEMBERS)
    rng = random.Random(seed)
    purchases = random_purchases(rng, 150, MEMBERS, start=start, days=80, big=big, discounts=True)
    for purchase in file_order(purchases):
        async with database.write() as session:
            active = await program_service.get_active_program(session, key="default")
            await record_purchase(
                session, active=active, data=purchase.create(currency), now=purchase.occurred_at
            )
    return program_id


@pytest.mark.parametrize(
    ("seed", "text", "start", "currency", "big", "rounds"),
    [
        (11, SEED_PROGRAM.read_text(), datetime(2026, 11, 10, tzinfo=UTC), "RUB", 900_000, 0),
        (12, VARIANT_PROGRAM, datetime(2026, 3, 2, tzinfo=UTC), "PLN", 12_000, 0),
        (13, WELCOME_PROGRAM, datetime(2026, 3, 2, tzinfo=UTC), "PLN", 3_000, 1),
    ],
)
async def test_replay_equals_the_per_event_engine(
    database: Database,
    seed: int,
    text: str,
    start: datetime,
    currency: str,
    big: int,
    rounds: int,
) -> None:
    program_id = await _record_at_their_time(database, text, seed, start, currency, big)
    program = load_program(text)
    async with database.read() as session:
        repository = SimulatorRepository(session)
        history = history_from_rows(
            await repository.purchases(program_id), await repository.lines(program_id), "db"
        )
        recorded = (
            await session.execute(
                select(Purchase.member_id, Purchase.points_earned)
                .where(Purchase.program_id == program_id)
                .order_by(Purchase.occurred_at, Purchase.external_id)
            )
        ).all()
        tiers = (
            await session.execute(
                select(Member.tier_id).where(
                    Member.id.in_({member for member, _ in recorded if member is not None})
                )
            )
        ).scalars()
        final_tiers = Counter(tier or "none" for tier in tiers)
    first, last = history.purchases["at"].min(), history.purchases["at"].max()
    months = month_grid(program.program.timezone, first, last)  # type: ignore[arg-type]
    result = replay(program, history, [month.end for month in months])

    by_seq = dict(zip(result.purchases["seq"].to_list(), result.purchases["points"].to_list(),
                      strict=True))  # fmt: skip
    expected = {seq: points for seq, (member, points) in enumerate(recorded) if member is not None}
    assert by_seq == expected
    assert result.rounds == rounds
    assert sum(expected.values()) > 0
    assert len({tier for tier in result.purchases["tier_id"].to_list()}) > 1  # tiers moved
    at_end = dict(zip(result.tiers, result.month_counts[-1].tolist(), strict=True))
    assert {tier: count for tier, count in at_end.items() if count} == dict(final_tiers)


@pytest.mark.parametrize(("text", "ordered"), [(CAMPAIGN_PROGRAM, True), (STACKED_PROGRAM, False)])
async def test_campaigns_replay_equals_the_per_event_engine(
    database: Database, text: str, ordered: bool
) -> None:
    """Every points effect (bonus, multiply_lines, multiply_order), the four stacking
    policies, a tier audience, per-member limits, a global limit, a budget that runs out in
    the middle, an every-N-th and a probability prize, a raffle: the replay gives each
    purchase the recorded points, and each campaign the recorded applications, points and
    raffle entries."""
    start = datetime(2026, 3, 2, tzinfo=UTC)
    program_id = await _record_at_their_time(database, text, 14, start, "PLN", 12_000)
    program = load_program(text)
    async with database.read() as session:
        repository = SimulatorRepository(session)
        history = history_from_rows(
            await repository.purchases(program_id), await repository.lines(program_id), "db"
        )
        seeds = await repository.seeds(program_id)
        recorded = (
            await session.execute(
                select(Purchase.member_id, Purchase.points_earned)
                .where(Purchase.program_id == program_id)
                .order_by(Purchase.occurred_at, Purchase.external_id)
            )
        ).all()
        applications = (
            await session.execute(
                select(CampaignApplication.campaign_key, CampaignApplication.points).where(
                    CampaignApplication.program_id == program_id
                )
            )
        ).all()
        entries = (
            (
                await session.execute(
                    select(RaffleEntry.entries).where(RaffleEntry.program_id == program_id)
                )
            )
            .scalars()
            .all()
        )
    first, last = history.purchases["at"].min(), history.purchases["at"].max()
    months = month_grid(program.program.timezone, first, last)  # type: ignore[arg-type]
    result = replay(program, history, [month.end for month in months], seeds=seeds)

    by_seq = dict(zip(result.purchases["seq"].to_list(), result.purchases["points"].to_list(),
                      strict=True))  # fmt: skip
    expected = {seq: points for seq, (member, points) in enumerate(recorded) if member is not None}
    assert by_seq == expected
    run, facts, found = result.campaign_run, result.campaign_facts, result.campaigns
    assert run is not None
    assert facts is not None
    assert found is not None
    assert run.ordered is ordered
    assert not found.skipped  # the birthday campaign is projected apart (other triggers)
    counted: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for key, value in applications:
        counted[key] += 1
        points[key] += value
    keys = [campaign.key for campaign in found.campaigns]
    assert dict(zip(keys, run.applied.sum(axis=0).tolist(), strict=True)) == {
        key: counted[key] for key in keys
    }
    replayed = (facts.points * run.applied).sum(axis=0).tolist()
    assert dict(zip(keys, replayed, strict=True)) == {key: points[key] for key in keys}
    assert all(counted[key] > 0 for key in keys)  # every campaign applied somewhere
    spring = keys.index("spring-bonus")
    if ordered:  # the budget ran out in the middle
        assert points["spring-bonus"] > 2000 - 40
        assert run.exhausted_at[spring] is not None
    else:
        assert points["spring-bonus"] > 2000
    assert int(result.purchases["campaign_points"].sum()) == sum(points.values())
    cashback = keys.index("spring-cashback")
    if ordered:  # its money budget (40.00 of 5 % cashback) ran out in the middle
        assert run.money_exhausted_at[cashback] is not None
        paid = facts.paid[run.applied[:, cashback]]
        assert 4_000 - 1_000 < int((paid * 5 // 100).sum()) <= 4_000
    raffle = keys.index("spring-raffle")
    raffled = facts.total[run.applied[:, raffle]] // 10_000
    assert int(raffled.sum()) == sum(entries) > 0
