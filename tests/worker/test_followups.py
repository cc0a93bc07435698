"""The feedback loop, as handlers run by the dispatcher: follow-up tickets for a detractor and
a negative review, a CSAT invitation after a resolved ticket; a second run changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from patron.feedback import schemas as feedback_schemas
from patron.feedback import service as feedback_service
from patron.feedback.models import SurveyInvitation
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.members.models import Language
from patron.programs import service as program_service
from patron.programs.feedback_settings import SurveyTrigger
from patron.support import service as support_service
from patron.support.models import Ticket
from patron.support.schemas import TicketFilter, TicketPage
from patron.support.states import TicketSource, TicketStatus
from patron.worker import registry
from tests.feedback.factories import NOW, apply_program, enrol


async def _detractor_and_bad_review(database: Database) -> tuple[int, int, int]:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1", language=Language.EN)
        invitation = await feedback_service.invite(
            session,
            survey_key="nps",
            member_id=member,
            trigger=SurveyTrigger.MANUAL,
            source_ref="r1",
            now=NOW,
        )
        answered = await feedback_service.submit(
            session, token=invitation.token, values={"nps": "3"}, now=NOW
        )
        review = await feedback_service.create_review(
            session,
            data=feedback_schemas.ReviewCreate(member_id=member, rating=1, text="Cold coffee"),
            now=NOW,
        )
    return member, answered.response_id, review.id


async def run_follow_ups(database: Database, *, now: datetime) -> tuple[int, int]:
    """Dispatch the pending events; (tickets opened, CSAT invitations created)."""
    async with database.read() as session:
        tickets = await session.scalar(select(func.count()).select_from(Ticket))
        invited = await session.scalar(
            select(func.count()).where(SurveyInvitation.trigger == SurveyTrigger.TICKET_RESOLVED)
        )
    report = await dispatch_pending(database, registry.handlers(), now=now)
    assert report.failed == 0, report.errors
    async with database.read() as session:
        tickets_after = await session.scalar(select(func.count()).select_from(Ticket))
        invited_after = await session.scalar(
            select(func.count()).where(SurveyInvitation.trigger == SurveyTrigger.TICKET_RESOLVED)
        )
    return (tickets_after or 0) - (tickets or 0), (invited_after or 0) - (invited or 0)


async def _tickets(database: Database) -> TicketPage:
    async with database.read() as session:
        active = await program_service.get_active_program(session)
        return await support_service.list_tickets(
            session, active=active, where=TicketFilter(), now=NOW + timedelta(hours=2)
        )


async def test_flagged_feedback_opens_one_ticket_each(database: Database) -> None:
    member, response_id, review_id = await _detractor_and_bad_review(database)
    later = NOW + timedelta(hours=1)
    assert await run_follow_ups(database, now=later) == (2, 0)
    tickets = await _tickets(database)
    async with database.read() as session:
        assert await feedback_service.follow_ups(session) == []
    opened = sorted((t.source, t.source_ref, t.member_id) for t in tickets.items)
    assert opened == [
        (TicketSource.REVIEW, f"review:{review_id}", member),
        (TicketSource.SURVEY, f"survey-response:{response_id}", member),
    ]
    assert await run_follow_ups(database, now=later) == (0, 0)


async def test_a_resolved_ticket_invites_to_the_csat_survey_once(database: Database) -> None:
    member, _, _ = await _detractor_and_bad_review(database)
    await run_follow_ups(database, now=NOW + timedelta(hours=1))
    ticket_id = (await _tickets(database)).items[0].id
    async with database.write() as session:
        await support_service.assign(
            session, ticket_id=ticket_id, assignee="anna", actor="lead", now=NOW
        )
        await support_service.transition(
            session,
            ticket_id=ticket_id,
            status=TicketStatus.RESOLVED,
            actor="anna",
            now=NOW + timedelta(hours=2),
        )
    after = NOW + timedelta(hours=3)
    assert await run_follow_ups(database, now=after) == (0, 1)
    assert await run_follow_ups(database, now=after) == (0, 0)
    async with database.write() as session:
        again = await feedback_service.invite(
            session,
            survey_key="csat",
            member_id=member,
            trigger=SurveyTrigger.TICKET_RESOLVED,
            source_ref=f"ticket:{ticket_id}",
            now=after,
        )
    assert again.created is False  # the job's invitation, found by its source_ref
    async with database.write() as session:
        await feedback_service.submit(
            session, token=again.token, values={"csat": "5", "ces": "6"}, now=after
        )
    async with database.read() as session:  # the agent's CSAT for the tickets' KPIs
        assert await feedback_service.csat_by_agent(session, start=None, end=None) == {
            "anna": (100.0, 1)
        }
