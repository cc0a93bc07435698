"""``feedback.invite_after_purchase``: a purchase (its ``purchases.recorded`` event) invites the
member to an after-purchase survey without a delay, once, with ``surveys.invited``."""

from __future__ import annotations

from sqlalchemy import select

from patron.feedback.models import SurveyInvitation
from patron.kit.db import Database
from patron.kit.outbox import DomainEvent, OutboxEvent, dispatch_pending, emit
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
