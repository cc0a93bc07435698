"""Support KPIs computed by hand for a handful of tickets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.programs.service import get_active_program
from patron.support import goodwill, service
from patron.support.kpis import Compliance, TicketKpis, attach_csat, percentile, ticket_kpis
from patron.support.states import AuthorKind, TicketStatus
from tests.support.factories import apply_program, at, member, open_ticket

NOW = at(60)
# 2026-02-28 21:30 UTC is 2026-03-01 00:30 in Moscow, the program's time zone.
LATE_FEBRUARY = datetime(2026, 2, 28, 21, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, None),
        ([5], 0.9, 5),
        (list(range(1, 11)), 0.5, 5),
        (list(range(1, 11)), 0.9, 9),
        (list(range(11, 0, -1)), 0.5, 6),
        (list(range(1, 12)), 0.9, 10),
    ],
)
def test_nearest_rank_percentile(values: list[int], share: float, expected: int | None) -> None:
    assert percentile(values, share) == expected


async def _reply(session: AsyncSession, ticket_id: int, when: datetime) -> None:
    await service.add_message(
        session,
        ticket_id=ticket_id,
        author_kind=AuthorKind.STAFF,
        author="agent",
        text="On it",
        now=when,
    )


async def _move(
    session: AsyncSession, ticket_id: int, status: TicketStatus, when: datetime
) -> None:
    await service.transition(
        session,
        ticket_id=ticket_id,
        status=status,
        actor="agent",
        now=when,
    )


async def _scenario(database: Database) -> None:
    """t1 answered in 1 h, resolved in 5 h (ann); t2 (silver) answered in 2 h, resolved in
    30 h: late (ann); t3 answered in 25 h: late, still open (bob); t4 opened 10 h before now,
    untouched; t5 closed unanswered; t6 resolved in 2 h, opened in late February UTC."""
    active = await apply_program(database)
    plain = await member(database, active, "plain")
    silver = await member(database, active, "silver", points=5000)
    async with database.write() as session:
        t1 = await open_ticket(session, member_id=plain.id, now=at(0), store="msk-1")
        t2 = await open_ticket(session, member_id=silver.id, now=at(1))
        t3 = await open_ticket(session, member_id=plain.id, now=at(2), store="msk-1")
        t4 = await open_ticket(session, member_id=plain.id, now=at(50))
        t5 = await open_ticket(session, member_id=plain.id, now=at(3))
        t6 = await open_ticket(session, member_id=plain.id, now=LATE_FEBRUARY)
        for ticket, agent in ((t1, "ann"), (t2, "ann"), (t3, "bob")):
            await service.assign(
                session, ticket_id=ticket.id, assignee=agent, actor="lead", now=at(0)
            )
        await _reply(session, t1.id, at(1))
        await _move(session, t1.id, TicketStatus.RESOLVED, at(5))
        await _reply(session, t2.id, at(3))
        await _move(session, t2.id, TicketStatus.RESOLVED, at(31))
        await _reply(session, t3.id, at(27))
        await _move(session, t5.id, TicketStatus.CLOSED, at(4))
        await _move(
            session, t6.id, TicketStatus.RESOLVED, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
        )
        await goodwill.credit_goodwill(
            session,
            active=active,
            ticket_id=t1.id,
            points=100,
            reason="sorry",
            idempotency_key="k",
            actor="ann",
            now=at(5),
        )
    assert t4.id > 0


async def _kpis(database: Database, **period: datetime) -> TicketKpis:
    async with database.read() as session:
        active = await get_active_program(session)
        return await ticket_kpis(session, active=active, now=NOW, **period)


async def test_kpis_by_hand(database: Database) -> None:
    await _scenario(database)
    kpis = await _kpis(database)
    overall = kpis.overall
    assert (overall.tickets, overall.answered, overall.resolved, overall.open) == (6, 4, 3, 2)
    # responses 3600, 7200, 90000, 7200 s; resolutions 18000, 108000, 7200 s
    assert (overall.first_response_median_seconds, overall.first_response_p90_seconds) == (
        7200,
        90000,
    )
    assert (overall.resolution_median_seconds, overall.resolution_p90_seconds) == (
        18000,
        108000,
    )
    # t4 is not due yet, t5 was closed unanswered: neither counts
    assert overall.first_response_sla == Compliance(due=4, within=3, share=0.75)
    # t3 is past its resolution due time unresolved: due and missed
    assert overall.resolution_sla == Compliance(due=4, within=2, share=0.5)
    assert overall.goodwill_points == 100
    agents = {agent.key: agent for agent in kpis.by_agent}
    assert list(agents) == ["ann", "bob", None]
    ann, bob = agents["ann"], agents["bob"]
    assert (ann.tickets, ann.first_response_median_seconds, ann.first_response_p90_seconds) == (
        2,
        3600,
        7200,
    )
    assert (ann.resolution_median_seconds, ann.resolution_p90_seconds) == (18000, 108000)
    assert ann.first_response_sla == Compliance(due=2, within=2, share=1.0)
    assert ann.resolution_sla == Compliance(due=2, within=1, share=0.5)
    assert (bob.first_response_median_seconds, bob.resolution_median_seconds) == (90000, None)
    assert bob.resolution_sla == Compliance(due=1, within=0, share=0.0)
    assert (ann.csat, ann.csat_responses) == (None, 0)
    assert [(g.key, g.tickets) for g in kpis.by_tier] == [("silver", 1), (None, 5)]
    assert [(g.key, g.tickets) for g in kpis.by_store] == [("msk-1", 2), (None, 4)]
    assert [(g.key, g.tickets) for g in kpis.by_month] == [("2026-03", 6)]


async def test_period_and_csat_join(database: Database) -> None:
    await _scenario(database)
    kpis = await _kpis(database, date_from=at(0), date_to=at(50))
    assert (kpis.overall.tickets, kpis.overall.open) == (4, 1)
    joined = attach_csat(kpis, {"ann": (4.5, 2)})
    assert [(a.key, a.csat, a.csat_responses) for a in joined.by_agent] == [
        ("ann", 4.5, 2),
        ("bob", None, 0),
        (None, None, 0),  # t5, never assigned
    ]
