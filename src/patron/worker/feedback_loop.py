"""The feedback loop between surveys/reviews and support tickets, as a handler.

``patron.feedback`` and ``patron.support`` sit side by side in the features layer and do not
import each other; the worker joins them. ``support.follow_up_feedback`` reacts to
``surveys.answered``, ``reviews.created`` and ``reviews.flagged``: an NPS detractor's answer
(the survey's ``follow_up_detractors``) or a negative review (the program's
``reviews.follow_up_*`` settings) opens a support ticket (source ``survey`` or ``review``,
``source_ref`` naming the item), so the 24-hour clock starts; the item then records the
ticket. ``open_ticket`` answers the same ticket for the same ``source_ref``, so a retry
opens nothing twice.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback import schemas as feedback_schemas
from patron.feedback import service as feedback_service
from patron.kit.outbox import EventEnvelope, Handler
from patron.support import service as support_service
from patron.support.states import TicketChannel, TicketSource

_SOURCES = {
    feedback_schemas.FollowUpKind.SURVEY_RESPONSE: (TicketSource.SURVEY, "survey-response"),
    feedback_schemas.FollowUpKind.REVIEW: (TicketSource.REVIEW, "review"),
}
_SUBJECTS = {
    "nps_detractor": "Follow-up: NPS detractor",
    "negative_review": "Follow-up: negative review",
}


async def follow_up_feedback(session: AsyncSession, event: EventEnvelope) -> None:
    if event.type == "surveys.answered":
        kind, item_id = feedback_schemas.FollowUpKind.SURVEY_RESPONSE, event.data["response_id"]
    else:
        kind, item_id = feedback_schemas.FollowUpKind.REVIEW, event.data["review_id"]
    item = await feedback_service.follow_up_of(session, kind=kind, item_id=int(item_id))
    if item is None:
        return
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
        now=event.occurred_at,
    )
    await feedback_service.mark_followed_up(
        session, kind=item.kind, item_id=item.id, ref=f"ticket:{result.ticket.id}"
    )


HANDLERS = [
    Handler(
        name="support.follow_up_feedback",
        events=frozenset({"surveys.answered", "reviews.created", "reviews.flagged"}),
        handle=follow_up_feedback,
    )
]
