"""The feedback loop between surveys/reviews and support tickets, run by ``patron jobs run``.

``patron.feedback`` and ``patron.support`` sit side by side in the features layer and do not
import each other; this job joins them:

- every NPS detractor's answer and negative review flagged for a follow-up (the survey's
  ``follow_up_detractors``, the program's ``reviews.follow_up_*`` settings) opens a support
  ticket (source ``survey`` or ``review``, ``source_ref`` naming the item), so the 24-hour
  clock starts; the item then records the ticket;
- every ticket resolved in the last :data:`RESOLVED_LOOKBACK` invites its member to the
  surveys whose trigger is ``ticket_resolved`` (the CSAT after a resolution).

Both steps are idempotent: ``open_ticket`` answers the same ticket for the same
``source_ref``, and an invitation is unique per (survey, member, ``ticket:<id>``), so a run
repeated or overlapping the previous one's window changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from patron.feedback import schemas as feedback_schemas
from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.programs.feedback_settings import SurveyTrigger
from patron.support import service as support_service
from patron.support.states import TicketChannel, TicketSource

RESOLVED_LOOKBACK = timedelta(days=7)
_SOURCES = {
    feedback_schemas.FollowUpKind.SURVEY_RESPONSE: (TicketSource.SURVEY, "survey-response"),
    feedback_schemas.FollowUpKind.REVIEW: (TicketSource.REVIEW, "review"),
}
_SUBJECTS = {
    "nps_detractor": "Follow-up: NPS detractor",
    "negative_review": "Follow-up: negative review",
}


@dataclass(frozen=True, slots=True)
class FollowUpReport:
    tickets_opened: int
    csat_invitations: int


async def run_follow_ups(database: Database, *, now: datetime) -> FollowUpReport:
    """Open tickets for flagged feedback, then invite members of resolved tickets (each in its
    own unit of work)."""
    opened = await open_follow_up_tickets(database, now=now)
    invited = await invite_after_resolved_tickets(database, now=now)
    return FollowUpReport(tickets_opened=opened, csat_invitations=invited)


async def open_follow_up_tickets(database: Database, *, now: datetime) -> int:
    """Open a ticket for every flagged detractor answer and negative review; the count opened."""
    opened = 0
    async with database.write() as session:
        for item in await feedback_service.follow_ups(session):
            source, prefix = _SOURCES[item.kind]
            reference = f"{prefix}:{item.id}"
            result = await support_service.open_ticket(
                session,
                member_id=item.member_id,
                channel=TicketChannel.EMAIL,
                category="feedback",
                subject=_SUBJECTS.get(item.reason, f"Follow-up: {item.reason}"),
                text=f"Opened by the feedback loop for {reference} ({item.reason}).",
                source=source,
                source_ref=reference,
                now=now,
            )
            await feedback_service.mark_followed_up(
                session, kind=item.kind, item_id=item.id, ref=f"ticket:{result.ticket.id}"
            )
            opened += int(result.created)
    return opened


async def invite_after_resolved_tickets(database: Database, *, now: datetime) -> int:
    """Invite the members of tickets resolved in the last :data:`RESOLVED_LOOKBACK` to the
    ``ticket_resolved`` surveys; the count of invitations created."""
    invited = 0
    async with database.write() as session:
        resolved = await support_service.tickets_resolved_since(
            session, since=now - RESOLVED_LOOKBACK, until=now
        )
        for ticket in resolved:
            if ticket.member_id is None:
                continue
            invitations = await feedback_service.invite_for_trigger(
                session,
                trigger=SurveyTrigger.TICKET_RESOLVED,
                member_id=ticket.member_id,
                source_ref=f"ticket:{ticket.ticket_id}",
                now=now,
            )
            invited += sum(1 for invitation in invitations if invitation.created)
    return invited
