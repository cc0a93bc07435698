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
from tests.simulator.factories import WELCOME_PROGRAM

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
