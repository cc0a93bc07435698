"""The member 360 view's sections beyond the profile and the points: coupons, tickets,
reviews, survey answers, challenges and badges, and the member's RFM segment, CLV and churn
risk as the last segments refresh stored them. Each read is a service's; lists are the newest
few."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patron.challenges import service as challenge_service
from patron.feedback import service as feedback_service
from patron.programs.schemas import ActiveProgram
from patron.rewards.coupons import list_coupons
from patron.segments import service as segment_service
from patron.support import service as ticket_service
from patron.support.schemas import TicketFilter

SHOWN = 20


async def member_activity(
    session: Any, active: ActiveProgram, member_id: int, now: datetime, language: str = "en"
) -> dict[str, Any]:
    """``coupons``, ``tickets``, ``reviews``, ``responses`` (survey answers),
    ``insights`` (the stored scores, ``insights.scored`` false before the first refresh that
    counted the member), ``challenges`` (progress in the current periods) and ``badges``."""
    tickets = await ticket_service.list_tickets(
        session, active=active, where=TicketFilter(member_id=member_id), now=now, limit=SHOWN
    )
    # reviews come in id order: the newest of a member's (at most a page of 200) last
    reviews = await feedback_service.list_reviews(session, member_id=member_id, limit=200)
    return {
        "coupons": await list_coupons(session, member_id=member_id, limit=SHOWN),
        "tickets": tickets.items,
        "reviews": list(reversed(reviews.items[-SHOWN:])),  # newest first
        "responses": await feedback_service.member_responses(
            session, member_id=member_id, limit=SHOWN
        ),
        "insights": await segment_service.member_insights(session, member_id=member_id),
        "challenges": await challenge_service.member_challenges(
            session, active=active, member_id=member_id, now=now, language=language
        ),
        "badges": await challenge_service.member_badges(
            session, active=active, member_id=member_id, language=language
        ),
    }
