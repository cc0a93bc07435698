"""A tier move sets the member's tier, records the change and writes ``tiers.changed`` in its
unit of work: on PostgreSQL one statement (``TierRepository.move_with_event``), elsewhere (and
with the fused statement off) step by step. Both write the same rows and the same event, and
roll back together."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from patron.kit.db import Database
from patron.members.models import Member
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.tiers import repository as tier_repository
from patron.tiers.models import TierChange
from tests.events.test_purchase_events import events, last_event_id, record, tea
from tests.purchases.bulk.factories import NOW, apply, enrol


async def _moves(database: Database, member_id: int) -> dict[str, Any]:
    before = await last_event_id(database)
    await record(database, tea("t-1", price="10000.00"))  # 1,500 points: Bronze
    await record(database, tea("t-2", price="40000.00"))  # 4,500 more: Silver
    async with database.read() as session:
        member = (await session.execute(select(Member).where(Member.id == member_id))).scalar_one()
        changes = (
            await session.execute(select(TierChange).where(TierChange.member_id == member_id))
        ).scalars()
        return {
            "tier": (member.tier_id, member.tier_since),
            "changes": [
                (c.from_tier, c.to_tier, c.reason, c.metric, c.occurred_at) for c in changes
            ],
            "events": [row for row in await events(database, before) if row[0] == "tiers.changed"],
        }


@pytest.mark.parametrize("fused", [True, False])
async def test_a_move_writes_the_tier_the_change_and_the_event(
    database: Database, monkeypatch: pytest.MonkeyPatch, fused: bool
) -> None:
    monkeypatch.setattr(tier_repository, "FUSE_ON_POSTGRESQL", fused)
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]

    moved = await _moves(database, member_id)

    assert moved["tier"][0] == "silver"
    assert moved["tier"][1] is not None
    assert moved["tier"][1].replace(tzinfo=NOW.tzinfo) == NOW
    assert [(c[0], c[1], c[3]) for c in moved["changes"]] == [
        (None, "bronze", 1_500),
        ("bronze", "silver", 6_000),
    ]
    assert [c[2] for c in moved["changes"]] == [
        "upgrade: metric 1500 reached the threshold",
        "upgrade: metric 6000 reached the threshold",
    ]
    assert moved["events"] == [
        (
            "tiers.changed",
            program_id,
            member_id,
            {
                "member_id": member_id,
                "from_tier": before,
                "to_tier": after,
                "direction": "up",
                "reason": f"upgrade: metric {metric} reached the threshold",
            },
        )
        for before, after, metric in [(None, "bronze", 1_500), ("bronze", "silver", 6_000)]
    ]


async def _fails_after_a_move(database: Database) -> None:
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="main")
        await record_purchase(session, active=active, data=tea("t-1", price="10000.00"), now=NOW)
        raise RuntimeError("the unit of work fails after the move")


async def test_a_rolled_back_move_leaves_no_change_and_no_event(database: Database) -> None:
    program_id = await apply(database, "main")
    member_id = (await enrol(database, program_id, ["e-0"]))["e-0"]
    before = await last_event_id(database)

    with pytest.raises(RuntimeError):
        await _fails_after_a_move(database)

    assert await events(database, before) == []
    async with database.read() as session:
        assert await session.scalar(select(Member.tier_id).where(Member.id == member_id)) is None
        assert (await session.execute(select(TierChange))).first() is None
