"""The feedback handlers: survey invitations after events, instead of daily scans.

- ``feedback.invite_after_ticket`` (``tickets.resolved``): the member of a resolved ticket is
  invited to every active ``ticket_resolved`` survey (the CSAT after a resolution),
  ``source_ref`` ``ticket:<id>``, so a retry invites nobody twice.

- ``feedback.invite_after_purchase`` (``purchases.recorded``): the member is invited to every
  active ``after_purchase`` survey without a delay (``delay_days: 0``), ``source_ref``
  ``purchase:<id>``, unless an invitation of that survey is still open. Surveys with a delay
  are still invited by the daily job (``invite_after_purchases``; the same ``source_ref``, so
  the two never invite twice).

Each invitation emits ``surveys.invited``.

``invite_after_purchase`` screens a batch of purchases at once (a program without an
immediate ``after_purchase`` survey, the usual case, costs its purchases one read a batch and
no run) and invites a batch's members in one unit of work (``handle_many``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.surveys import (
    invite_for_trigger,
    invite_now_after_purchase,
    invite_now_after_purchases,
    invites_now_after_purchase,
)
from patron.kit.outbox import EventEnvelope, Handler
from patron.kit.time import utcnow
from patron.programs.feedback_settings import SurveyTrigger


async def invite_after_ticket(session: AsyncSession, event: EventEnvelope) -> None:
    member_id = event.data.get("member_id")
    if not isinstance(member_id, int):
        return
    await invite_for_trigger(
        session,
        trigger=SurveyTrigger.TICKET_RESOLVED,
        member_id=member_id,
        source_ref=f"ticket:{event.data['ticket_id']}",
        now=max(event.occurred_at, utcnow()),
    )


async def invite_after_purchase(session: AsyncSession, event: EventEnvelope) -> None:
    member_id = event.data.get("member_id")
    if not isinstance(member_id, int):
        return
    await invite_now_after_purchase(
        session,
        member_id=member_id,
        purchase_id=int(event.data["purchase_id"]),
        now=max(event.occurred_at, utcnow()),
    )


async def invite_after_purchases(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
    await invite_now_after_purchases(
        session,
        [
            (int(event.data["purchase_id"]), member_id, max(event.occurred_at, utcnow()))
            for event in events
            if isinstance(member_id := event.data.get("member_id"), int)
        ],
    )


async def _purchases_to_invite(
    session: AsyncSession, events: Sequence[EventEnvelope]
) -> Sequence[EventEnvelope]:
    return events if await invites_now_after_purchase(session) else []


def _of_a_member(event: EventEnvelope) -> bool:
    """Anonymous purchases and tickets invite nobody: no run at all."""
    return isinstance(event.data.get("member_id"), int)


HANDLERS = [
    Handler(
        name="feedback.invite_after_purchase",
        events=frozenset({"purchases.recorded"}),
        handle=invite_after_purchase,
        applies=_of_a_member,
        screen=_purchases_to_invite,
        handle_many=invite_after_purchases,
    ),
    Handler(
        name="feedback.invite_after_ticket",
        events=frozenset({"tickets.resolved"}),
        handle=invite_after_ticket,
        applies=_of_a_member,
    ),
]
