"""The campaigns' handlers: the welcome (``signup``) on ``members.enrolled``, ``review`` on
``reviews.created`` and ``survey`` on ``surveys.answered``.

Each applies the program's campaigns of its trigger to the event's member
(:func:`patron.campaigns.triggers.apply_trigger`) with an occurrence that names what happened
once: ``signup`` (once per member, ever), ``review:<id>``, ``survey:<response id>``. A run
that is retried (or an event dispatched again) finds the campaigns already applied to that
occurrence and credits nothing twice. The moment a campaign must be live at, and the time of the
credit, is the event's ``occurred_at`` (so a run retried later gives what it would have then).

Members enrolled by an import (``imported: true``: ``patron import members``,
``POST /members/batch``) get no welcome: an import carries over customers who joined long
ago, not signups.

The handler screens a batch of events with the active program read once per program: an
event whose program has no campaign of its trigger (the usual enrolment, in a program without
a welcome campaign) costs no run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.triggers import apply_trigger, trigger_campaigns
from patron.kit.outbox import EventEnvelope, Handler
from patron.members.models import Member
from patron.programs import service as program_service
from patron.programs.errors import ProgramNotFoundError
from patron.programs.models import ProgramRecord
from patron.rules.vocabulary import Trigger

TRIGGERS = {
    "members.enrolled": Trigger.SIGNUP,
    "reviews.created": Trigger.REVIEW,
    "surveys.answered": Trigger.SURVEY,
}


def occurrence_of(event: EventEnvelope) -> str:
    """What happened once: the key of the campaigns' application to it."""
    if event.type == "reviews.created":
        return f"review:{event.data['review_id']}"
    if event.type == "surveys.answered":
        return f"survey:{event.data['response_id']}"
    return "signup"


def applies(event: EventEnvelope) -> bool:
    """A member's event (not an imported member's enrolment)."""
    member_id = event.data.get("member_id")
    if not isinstance(member_id, int):
        return False
    return not (event.type == "members.enrolled" and event.data.get("imported") is True)


async def apply_on_event(session: AsyncSession, event: EventEnvelope) -> None:
    if not applies(event):
        return
    member_id = event.data["member_id"]
    program_id = event.program_id
    if program_id is None:
        program_id = await session.scalar(select(Member.program_id).where(Member.id == member_id))
    if program_id is None:
        return
    key = await session.scalar(select(ProgramRecord.key).where(ProgramRecord.id == program_id))
    if key is None:
        return
    active = await program_service.get_active_program(session, key=key)
    campaigns = trigger_campaigns(active, TRIGGERS[event.type])
    if not campaigns:
        return
    await apply_trigger(
        session,
        active=active,
        member_id=member_id,
        campaigns=campaigns,
        occurrence=occurrence_of(event),
        occurred_at=event.occurred_at,
        now=event.occurred_at,
    )


async def _with_campaigns(
    session: AsyncSession, events: Sequence[EventEnvelope]
) -> Sequence[EventEnvelope]:
    """The events whose program has a campaign of their trigger (the screen). An event
    without a program, or of a program whose active version cannot be read, is kept: the
    handler says what to do with it."""
    triggers: dict[int, set[Trigger] | None] = {}
    kept = []
    for event in events:
        program_id = event.program_id
        if program_id is None:
            kept.append(event)
            continue
        if program_id not in triggers:
            triggers[program_id] = await _triggers_of(session, program_id)
        present = triggers[program_id]
        if present is None or TRIGGERS[event.type] in present:
            kept.append(event)
    return kept


async def _triggers_of(session: AsyncSession, program_id: int) -> set[Trigger] | None:
    """The triggers of the program's campaigns; None when the program cannot be read."""
    key = await session.scalar(select(ProgramRecord.key).where(ProgramRecord.id == program_id))
    if key is None:
        return set()  # the handler returns without a program
    try:
        active = await program_service.get_active_program(session, key=key)
    except ProgramNotFoundError:
        return None
    return {campaign.trigger for campaign in active.program.campaigns}


HANDLERS = [
    Handler(
        name="campaigns.apply_on_event",
        events=frozenset(TRIGGERS),
        handle=apply_on_event,
        applies=applies,
        screen=_with_campaigns,
    )
]
