"""Each domain's events are written with the change that causes them and roll back with it
(on SQLite and PostgreSQL): members, imports, tickets, reviews, rewards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback import schemas as feedback_schemas
from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.members import service as member_service
from patron.members.models import Language
from patron.members.schemas import MemberCreate, MemberUpdate
from patron.onboarding import service as import_service
from patron.programs import service as program_service
from patron.support import service as support_service
from patron.support.states import TicketChannel, TicketSource, TicketStatus
from tests.feedback.factories import NOW, apply_program, enrol

Work = Callable[[AsyncSession], Awaitable[Any]]


async def _events(database: Database) -> list[tuple[str, dict[str, Any]]]:
    async with database.read() as session:
        rows = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [(row.type, dict(row.payload)) for row in rows]


async def _rolled_back(database: Database, work: Work) -> None:
    async def fail() -> None:
        async with database.write() as session:
            await work(session)
            raise RuntimeError("the unit of work fails after the change")

    before = await _events(database)
    with pytest.raises(RuntimeError):
        await fail()
    assert await _events(database) == before


async def _committed(database: Database, work: Work) -> list[tuple[str, dict[str, Any]]]:
    before = await _events(database)
    async with database.write() as session:
        await work(session)
    return (await _events(database))[len(before) :]


async def _program(database: Database) -> int:
    async with database.write() as session:
        return (await apply_program(session)).program_id


async def test_members_enrolled_and_updated(database: Database) -> None:
    program_id = await _program(database)

    async def enrol_one(session: AsyncSession) -> None:
        data = MemberCreate(external_id="c-1", language=Language.RU)
        await member_service.enrol_member(session, program_id=program_id, data=data, now=NOW)

    await _rolled_back(database, enrol_one)
    [(name, data)] = await _committed(database, enrol_one)
    assert name == "members.enrolled"
    member_id = data["member_id"]
    assert data == {
        "member_id": member_id,
        "external_id": "c-1",
        "language": "ru",
        "imported": False,
        "enrolled_at": "2026-03-02T09:00:00Z",
    }
    assert await _committed(database, enrol_one) == []  # a retry enrols nobody

    async def rename(session: AsyncSession) -> None:
        data = MemberUpdate(name="Anna")
        await member_service.update_member(session, member_id=member_id, data=data, now=NOW)

    await _rolled_back(database, rename)
    assert await _committed(database, rename) == [
        ("members.updated", {"member_id": member_id, "fields": ["name"]})
    ]
    assert await _committed(database, rename) == []  # nothing changed


async def test_imported_members_are_enrolled_with_imported_true(database: Database) -> None:
    await _program(database)
    records = [{"external_id": "i-1", "language": "pl"}, {"external_id": "i-2"}]

    async def run(session: AsyncSession) -> None:
        active = await program_service.get_active_program(session)
        await import_service.import_batch(session, active=active, records=records, now=NOW)

    await _rolled_back(database, run)
    events = await _committed(database, run)
    assert [(name, data["external_id"], data["imported"]) for name, data in events] == [
        ("members.enrolled", "i-1", True),
        ("members.enrolled", "i-2", True),
    ]
    assert events[0][1]["language"] == "pl"
    assert await _committed(database, run) == []  # unchanged rows


async def test_tickets_created_and_resolved(database: Database) -> None:
    async with database.write() as session:
        member = await enrol(session, active=await apply_program(session), external_id="m1")

    async def open_one(session: AsyncSession) -> None:
        await support_service.open_ticket(
            session,
            member_id=member,
            channel=TicketChannel.EMAIL,
            category="other",
            subject="Where are my points?",
            text="I bought tea.",
            source=TicketSource.MEMBER,
            source_ref="ext-1",
            now=NOW,
        )

    await _rolled_back(database, open_one)
    [(name, data)] = await _committed(database, open_one)
    assert name == "tickets.created"
    ticket_id = data["ticket_id"]
    assert data == {"member_id": member, "ticket_id": ticket_id}
    assert await _committed(database, open_one) == []  # the same source_ref

    async def resolve(session: AsyncSession) -> None:
        await support_service.transition(
            session, ticket_id=ticket_id, status=TicketStatus.RESOLVED, actor="anna", now=NOW
        )

    await _rolled_back(database, resolve)
    assert await _committed(database, resolve) == [
        ("tickets.resolved", {"member_id": member, "ticket_id": ticket_id})
    ]


async def test_reviews_created_and_replied(database: Database) -> None:
    async with database.write() as session:
        member = await enrol(session, active=await apply_program(session), external_id="m1")

    async def write(session: AsyncSession) -> None:
        data = feedback_schemas.ReviewCreate(
            member_id=member, rating=5, text="Great tea", idempotency_key="r-1"
        )
        await feedback_service.create_review(session, data=data, now=NOW)

    await _rolled_back(database, write)
    events = await _committed(database, write)
    names = [name for name, _ in events]
    assert names == ["ledger.credited", "reviews.created"]  # the review's 20 points
    review_id = events[-1][1]["review_id"]
    assert events[0][1]["points"] == 20

    async def answer(session: AsyncSession) -> None:
        await feedback_service.reply(
            session, review_id=review_id, text="Thank you!", author="anna", now=NOW
        )

    await _rolled_back(database, answer)
    assert await _committed(database, answer) == [
        ("reviews.replied", {"member_id": member, "review_id": review_id})
    ]
