"""Shared setup of the trigger campaign tests: a program with a campaign of each trigger, and
helpers that read what the campaigns credited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from patron.campaigns.models import CampaignAward
from patron.kit.db import Database
from patron.kit.outbox import EventEnvelope, OutboxEvent
from patron.ledger.models import LedgerEntry
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.rewards.models import Coupon
from tests.campaigns.programs import with_campaigns

# Tuesday 8 December 2026, 13:00 in Moscow
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)

TRIGGERS = """
  - key: welcome
    name: {en: Welcome}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: signup
    effect: {bonus_points: 100}
  - key: birthday
    name: {en: Birthday}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: birthday
    occasion: {days: 3}
    effect: {bonus_points: 500}
  - key: anniversary
    name: {en: Anniversary}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: anniversary
    occasion: {days: 1}
    effect: {bonus_points: 300}
  - key: review
    name: {en: Review}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: review
    effect: {bonus_points: 20}
    limits: {per_member: 2, period: day}
  - key: survey
    name: {en: Survey}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: survey
    effect: {bonus_points: 30}
  - key: share
    name: {en: Share}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: event
    event: social_share
    effect: {bonus_points: 50}
    limits: {per_member: 1, period: day}
  - key: install
    name: {en: App install}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: event
    event: app.installed
    effect: {bonus_points: 200}
    limits: {per_member: 1}
    budget: {points: 400}
  - key: old-share
    name: {en: Share (paused)}
    status: paused
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: event
    event: profile_completed
    effect: {bonus_points: 70}
  - key: purchase-bonus
    name: {en: Purchase bonus}
    window: {start: "2026-12-01", end: "2027-12-31"}
    effect: {bonus_points: 10}
"""


async def apply_program(database: Database, campaigns: str = TRIGGERS, key: str = "default") -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=with_campaigns(campaigns), key=key, created_by="tests", now=NOW
        )
    return applied.program_id


async def active(database: Database, key: str = "default") -> ActiveProgram:
    async with database.read() as session:
        return await program_service.get_active_program(session, key=key)


async def enrol(
    database: Database,
    program_id: int,
    external_id: str,
    *,
    birth_date: date | None = None,
    at: datetime = NOW - timedelta(days=400),
) -> int:
    async with database.write() as session:
        member = await member_service.enrol_member(
            session,
            program_id=program_id,
            data=MemberCreate(external_id=external_id, birth_date=birth_date),
            now=at,
        )
    return member.id


async def campaign_credits(database: Database) -> list[tuple[int, str, int, str]]:
    """``(member id, campaign key, points, idempotency key)`` of every campaign credit."""
    async with database.read() as session:
        rows = await session.execute(
            select(
                LedgerEntry.member_id,
                LedgerEntry.source_id,
                LedgerEntry.amount,
                LedgerEntry.idempotency_key,
            )
            .where(LedgerEntry.source_type == "campaign")
            .order_by(LedgerEntry.id)
        )
        return [(int(m), str(k), int(a), str(i)) for m, k, a, i in rows]


async def awards(database: Database) -> list[tuple[int, str, str, int]]:
    """``(member id, campaign key, occurrence, points)`` of every application, by id."""
    async with database.read() as session:
        rows = await session.execute(
            select(
                CampaignAward.member_id,
                CampaignAward.campaign_key,
                CampaignAward.occurrence,
                CampaignAward.points,
            ).order_by(CampaignAward.id)
        )
        return [(int(m), str(k), str(o), int(p)) for m, k, o, p in rows]


async def credited_events(database: Database) -> list[tuple[int | None, int]]:
    """``(member id, points)`` of the ``ledger.credited`` events of campaign credits."""
    async with database.read() as session:
        rows = await session.execute(
            select(OutboxEvent.member_id, OutboxEvent.payload)
            .where(OutboxEvent.type == "ledger.credited")
            .order_by(OutboxEvent.id)
        )
        return [
            (member_id, int(payload["points"]))
            for member_id, payload in rows
            if payload["source"] == "campaign"
        ]


async def balance_count(database: Database) -> int:
    async with database.read() as session:
        return int(
            await session.scalar(select(func.count()).where(LedgerEntry.source_type == "campaign"))
            or 0
        )


def envelope(kind: str, program_id: int, member_id: int, **data: object) -> EventEnvelope:
    """An outbox event of ``member_id`` at ``NOW``, as a handler receives it."""
    return EventEnvelope(
        id=1,
        type=kind,
        version=1,
        program_id=program_id,
        member_id=member_id,
        occurred_at=NOW,
        data={"member_id": member_id, **data},
    )


async def coupons(database: Database) -> list[tuple[int, str, int, str]]:
    """``(member, reward code, cost in points, idempotency key)`` of every coupon, by id."""
    async with database.read() as session:
        rows = await session.execute(
            select(
                Coupon.member_id, Coupon.reward_code, Coupon.cost_points, Coupon.idempotency_key
            ).order_by(Coupon.id)
        )
        return [(int(m), str(r), int(c), str(k)) for m, r, c, k in rows]


async def payloads(database: Database, kind: str) -> list[dict[str, Any]]:
    """The payloads of the outbox events of type ``kind``, in order."""
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == kind).order_by(OutboxEvent.id)
        )
        return [dict(row) for row in rows]
