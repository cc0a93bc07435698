"""Shared setup of the challenge tests: the seed program (RUB, Europe/Moscow) with challenges,
purchases recorded at given moments, and readers of what the challenges wrote."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from patron.challenges.models import ChallengeProgress, MemberBadge
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.ledger.models import LedgerEntry
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.worker import registry
from tests.conftest import SEED_PROGRAM

CHALLENGES = """
challenges:
  - key: coffee-month
    name: {en: "Coffee five times this month", ru: "Кофе пять раз за месяц"}
    period: month
    goal: {count: 5, of: purchase, when: {line_category_in: [coffee]}}
    reward: {bonus_points: 150}
    badge: {key: coffee-lover, name: {en: "Coffee lover", pl: "Kawosz"}}
  - key: weekly
    name: {en: "A purchase every week for four weeks"}
    goal: {streak: {every: week, times: 4}, of: purchase}
    reward: {bonus_points: 400}
    badge: {key: regular, name: {en: "Regular"}}
  - key: critic
    name: {en: "Review three products"}
    goal: {count: 3, of: review}
    badge: {key: critic, name: {en: "Critic"}}
  - key: sharer
    name: {en: "Share twice"}
    goal: {count: 2, of: event, event: story_shared}
    reward: {bonus_points: 20}
"""


def program_text(challenges: str = CHALLENGES) -> str:
    return SEED_PROGRAM.read_text() + "\n" + challenges


async def apply_program(database: Database, at: datetime, text: str | None = None) -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=text or program_text(), key="default", created_by="tests", now=at
        )
    return applied.program_id


async def enrol(database: Database, program_id: int, external_id: str, at: datetime) -> int:
    async with database.write() as session:
        member = await member_service.enrol_member(
            session,
            program_id=program_id,
            data=MemberCreate(external_id=external_id, language="en"),
            now=at - timedelta(days=30),
        )
    return member.id


async def buy(
    database: Database, member_id: int, external_id: str, at: datetime, category: str = "coffee"
) -> int:
    """Record a purchase of 300.00 RUB of ``category`` at ``at`` (its own clock)."""
    data = PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_id": member_id,
            "occurred_at": at.isoformat(),
            "currency": "RUB",
            "total": "300.00",
            "lines": [{"sku": "S1", "category": category, "quantity": 1, "unit_price": "300.00"}],
        }
    )
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="default")
        recorded = await record_purchase(session, active=active, data=data, now=at)
    return recorded.purchase.id


async def dispatch(database: Database, at: datetime) -> None:
    report = await dispatch_pending(database, registry.handlers(), now=at)
    assert report.failed == 0, report


async def progress(database: Database, member_id: int) -> dict[tuple[str, str], tuple[int, bool]]:
    """``(challenge, period) -> (count, completed)`` of the member."""
    async with database.read() as session:
        rows = await session.scalars(
            select(ChallengeProgress).where(ChallengeProgress.member_id == member_id)
        )
        return {
            (row.challenge_key, row.period_key): (row.count, row.completed_at is not None)
            for row in rows
        }


async def challenge_credits(database: Database) -> list[tuple[int, str, int, str]]:
    """``(member, challenge, points, idempotency key)`` of every challenge credit."""
    async with database.read() as session:
        rows = await session.execute(
            select(
                LedgerEntry.member_id,
                LedgerEntry.source_id,
                LedgerEntry.amount,
                LedgerEntry.idempotency_key,
            )
            .where(LedgerEntry.source_type == "challenge")
            .order_by(LedgerEntry.id)
        )
        return [(int(m), str(k), int(a), str(i)) for m, k, a, i in rows]


async def badges(database: Database, member_id: int) -> list[str]:
    async with database.read() as session:
        rows = await session.scalars(
            select(MemberBadge.badge_key)
            .where(MemberBadge.member_id == member_id)
            .order_by(MemberBadge.id)
        )
        return list(rows)


async def events(database: Database, kind: str) -> list[dict[str, object]]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == kind).order_by(OutboxEvent.id)
        )
        return [dict(payload) for payload in rows]
