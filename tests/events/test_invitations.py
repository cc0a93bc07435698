"""``feedback.invite_after_purchase``: a purchase (its ``purchases.recorded`` event) invites the
member to an after-purchase survey without a delay, once, with ``surveys.invited``."""

from __future__ import annotations

from sqlalchemy import select

from patron.feedback.models import SurveyInvitation
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import DomainEvent, OutboxEvent, OutboxHandlerRun, emit
from patron.worker import registry
from tests.feedback.factories import NOW, NPS_SURVEY, apply_program, buy, enrol, program_text


class _Recorded(DomainEvent):
    """As the purchase path emits it (the outbox work); only the fields the handler reads."""

    type = "purchases.recorded"
    member_id: int
    purchase_id: int


async def test_a_purchase_invites_to_the_survey_once(database: Database) -> None:
    survey = {**NPS_SURVEY, "delay_days": 0}
    async with database.write() as session:
        active = await apply_program(session, text=program_text(surveys=[survey]))
        member = await enrol(session, active=active, external_id="m1")
        purchase = await buy(session, active=active, member_id=member, external_id="p1", at=NOW)
        event = _Recorded(member_id=member, purchase_id=purchase)
        await emit(session, event, program_id=active.program_id, occurred_at=NOW)
        await emit(session, event, program_id=active.program_id, occurred_at=NOW)  # at least once
    report = await dispatch_pending(database, registry.handlers())
    assert report.failed == 0, report.errors
    async with database.read() as session:
        rows = await session.execute(select(SurveyInvitation.id, SurveyInvitation.source_ref))
        invitations = [tuple(row) for row in rows]
        payloads = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "surveys.invited")
        )
        invited = [payload["invitation_id"] for payload in payloads]
    assert [ref for _, ref in invitations] == [f"purchase:{purchase}"]
    assert invited == [invitations[0][0]]


async def test_a_batch_of_purchases_invites_each_member_once(database: Database) -> None:
    """The handler takes the dispatcher's batch in one unit of work (``handle_many``): a
    member with two purchases in it is invited once, as one by one."""
    survey = {**NPS_SURVEY, "delay_days": 0}
    async with database.write() as session:
        active = await apply_program(session, text=program_text(surveys=[survey]))
        first = await enrol(session, active=active, external_id="m1")
        second = await enrol(session, active=active, external_id="m2")
        purchases = []
        for number, member in enumerate([first, second, first]):
            purchase = await buy(
                session, active=active, member_id=member, external_id=f"p{number}", at=NOW
            )
            purchases.append(purchase)
            event = _Recorded(member_id=member, purchase_id=purchase)
            await emit(session, event, program_id=active.program_id, occurred_at=NOW)
    report = await dispatch_pending(database, registry.handlers())
    assert report.failed == 0, report.errors
    async with database.read() as session:
        rows = await session.execute(
            select(SurveyInvitation.member_id, SurveyInvitation.source_ref).order_by(
                SurveyInvitation.id
            )
        )
        invitations = [tuple(row) for row in rows]
        runs = await session.scalars(
            select(OutboxHandlerRun.status).where(
                OutboxHandlerRun.handler == "feedback.invite_after_purchase"
            )
        )
        statuses = list(runs)
    assert invitations == [
        (first, f"purchase:{purchases[0]}"),
        (second, f"purchase:{purchases[1]}"),
    ]
    assert statuses == ["done"] * 6  # the purchases' own events and the test's


async def test_without_an_immediate_survey_purchases_cost_no_run(database: Database) -> None:
    """The screen: a program whose after-purchase survey waits a week (the daily job invites
    then) gives the handler nothing to do, so its runs are neither made nor recorded."""
    survey = {**NPS_SURVEY, "delay_days": 7}
    async with database.write() as session:
        active = await apply_program(session, text=program_text(surveys=[survey]))
        member = await enrol(session, active=active, external_id="m1")
        purchase = await buy(session, active=active, member_id=member, external_id="p1", at=NOW)
        event = _Recorded(member_id=member, purchase_id=purchase)
        await emit(session, event, program_id=active.program_id, occurred_at=NOW)
    report = await dispatch_pending(database, registry.handlers())
    assert report.failed == 0, report.errors
    async with database.read() as session:
        runs = list(
            await session.scalars(
                select(OutboxHandlerRun.handler).where(
                    OutboxHandlerRun.handler == "feedback.invite_after_purchase"
                )
            )
        )
        invited = list(await session.scalars(select(SurveyInvitation.id)))
    assert (runs, invited) == ([], [])
