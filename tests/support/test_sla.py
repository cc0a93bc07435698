"""Missed targets: exact at the boundary (23:59:59 is in time, 24:00:00 is late), recorded by
the daily job once, and listed."""

from __future__ import annotations

from datetime import datetime

import pytest

from patron.kit.db import Database
from patron.programs.service import get_active_program
from patron.support import service
from patron.support.schemas import TicketFilter
from patron.support.states import AuthorKind, TicketStatus
from patron.worker.daily import run_daily_jobs
from tests.support.factories import T0, apply_program, at, member, open_ticket

ALMOST = at(23, seconds=3599)  # 23:59:59 after opening
DUE = at(24)  # 24:00:00 after opening


async def _breached_ids(database: Database, now: datetime, *, breached: bool = True) -> list[int]:
    async with database.read() as session:
        active = await get_active_program(session)
        page = await service.list_tickets(
            session,
            active=active,
            where=TicketFilter(breached=breached),
            now=now,
        )
    return [ticket.id for ticket in page.items]


async def test_the_job_records_a_breach_at_24_hours_not_before(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
    async with database.write() as session:
        early = await service.detect_breaches(session, now=ALMOST)
    assert (early.first_response, early.resolution) == (0, 0)
    assert await _breached_ids(database, ALMOST) == []
    async with database.write() as session:
        report = await service.detect_breaches(session, now=DUE)
    assert (report.first_response, report.resolution) == (1, 1)
    async with database.write() as session:
        again = await service.detect_breaches(session, now=at(30))
    assert (again.first_response, again.resolution) == (0, 0)
    async with database.read() as session:
        detail = await service.get_ticket(session, ticket_id=ticket.id, now=at(30))
    assert (detail.first_response_breached_at, detail.resolution_breached_at) == (DUE, DUE)
    assert detail.first_response_breached
    assert detail.resolution_breached
    assert await _breached_ids(database, DUE) == [ticket.id]


async def test_listing_sees_an_overdue_ticket_before_the_job_runs(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
    assert await _breached_ids(database, ALMOST) == []
    assert await _breached_ids(database, DUE) == [ticket.id]
    async with database.read() as session:
        detail = await service.get_ticket(session, ticket_id=ticket.id, now=DUE)
    assert detail.first_response_breached
    assert detail.first_response_breached_at is None


@pytest.mark.parametrize(("answered_at", "late"), [(ALMOST, False), (DUE, True)])
async def test_first_response_at_the_boundary(
    database: Database, answered_at: datetime, late: bool
) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        ticket = await open_ticket(session, member_id=someone.id)
        await service.add_message(
            session,
            ticket_id=ticket.id,
            author_kind=AuthorKind.STAFF,
            author="ann",
            text="Hello",
            now=answered_at,
        )
        await service.transition(
            session,
            ticket_id=ticket.id,
            status=TicketStatus.RESOLVED,
            actor="ann",
            now=answered_at,
        )
    async with database.write() as session:
        report = await service.detect_breaches(session, now=at(48))
    assert (report.first_response, report.resolution) == (0, 0)  # stamped when it happened
    async with database.read() as session:
        detail = await service.get_ticket(session, ticket_id=ticket.id, now=at(48))
    expected = answered_at if late else None
    assert (detail.first_response_breached_at, detail.resolution_breached_at) == (
        expected,
        expected,
    )
    assert (detail.first_response_breached, detail.resolution_breached) == (late, late)


async def test_pending_counts_closed_unanswered_does_not(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        waiting = await open_ticket(session, member_id=someone.id, subject="waiting")
        spam = await open_ticket(session, member_id=someone.id, subject="spam")
        await service.transition(
            session, ticket_id=waiting.id, status=TicketStatus.PENDING, actor="a", now=at(1)
        )
        await service.transition(
            session, ticket_id=spam.id, status=TicketStatus.CLOSED, actor="a", now=at(1)
        )
    async with database.write() as session:
        report = await service.detect_breaches(session, now=DUE)
    assert (report.first_response, report.resolution) == (1, 1)
    assert await _breached_ids(database, DUE) == [waiting.id]
    assert await _breached_ids(database, DUE, breached=False) == [spam.id]


async def test_the_daily_job_runs_the_breach_step(database: Database) -> None:
    active = await apply_program(database)
    someone = await member(database, active, "m")
    async with database.write() as session:
        await open_ticket(session, member_id=someone.id)
    first = await run_daily_jobs(database, now=DUE)
    second = await run_daily_jobs(database, now=DUE)
    assert first.ticket_breaches == {"first_response": 1, "resolution": 1}
    assert second.ticket_breaches == {"first_response": 0, "resolution": 0}
    assert first.to_dict()["ticket_breaches"] == {"first_response": 1, "resolution": 1}
    assert T0 < DUE
