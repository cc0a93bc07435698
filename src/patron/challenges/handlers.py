"""The challenges' handler: ``challenges.advance`` on ``purchases.recorded``,
``reviews.created``, ``surveys.answered`` and ``events.recorded`` (a custom event).

Each run advances the member's challenges that count the event
(:func:`patron.challenges.progress.advance`) with the occurrence that names it once:
``purchase:<id>``, ``review:<id>``, ``survey:<response id>``, ``event:<id>``. The outbox
records the run in the handler's unit of work; should the same thing be counted again anyway
(an event dispatched again, an operator's retry), its step is found and nothing more counts.
The time that places the event in a period or a week is the purchase's ``occurred_at`` for a
purchase, the custom event's for a custom event, and the event's ``occurred_at`` otherwise.
The challenges are those of the program's active version when the event is handled.

An anonymous purchase counts for nobody. The handler screens a batch with each program's
active version read once: an event whose program has no challenge counting its kind costs no
run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.challenges.progress import Counted, advance, counting
from patron.challenges.service import program_of
from patron.kit.outbox import EventEnvelope, Handler
from patron.kit.time import ensure_utc
from patron.members.models import Member
from patron.programs.errors import ProgramNotFoundError
from patron.purchases.models import Purchase, PurchaseLine
from patron.rules.context import LineContext, PurchaseContext
from patron.rules.vocabulary.challenges import ChallengeOf

KINDS = {
    "purchases.recorded": ChallengeOf.PURCHASE,
    "reviews.created": ChallengeOf.REVIEW,
    "surveys.answered": ChallengeOf.SURVEY,
    "events.recorded": ChallengeOf.EVENT,
}


def counted_of(event: EventEnvelope) -> Counted:
    """What the event counts as (without the purchase's lines)."""
    data = event.data
    kind = KINDS[event.type]
    if kind is ChallengeOf.PURCHASE:
        moment = datetime.fromisoformat(str(data["occurred_at"]))
        return Counted(kind, f"purchase:{data['purchase_id']}", ensure_utc(moment))
    if kind is ChallengeOf.REVIEW:
        return Counted(kind, f"review:{data['review_id']}", event.occurred_at)
    if kind is ChallengeOf.SURVEY:
        return Counted(kind, f"survey:{data['response_id']}", event.occurred_at)
    moment = datetime.fromisoformat(str(data["occurred_at"]))
    return Counted(
        kind, f"event:{data['event_id']}", ensure_utc(moment), event=str(data["event_type"])
    )


def applies(event: EventEnvelope) -> bool:
    """A member's event (an anonymous purchase counts for nobody)."""
    return isinstance(event.data.get("member_id"), int)


async def _purchase(
    session: AsyncSession, purchase_id: int, tier_id: str | None
) -> PurchaseContext:
    """The recorded purchase as the rules see it (for a goal's purchase conditions)."""
    purchase = await session.get(Purchase, purchase_id)
    assert purchase is not None, f"purchase {purchase_id} of a recorded event is gone"
    lines = await session.scalars(
        select(PurchaseLine)
        .where(PurchaseLine.purchase_id == purchase_id)
        .order_by(PurchaseLine.line_no)
    )
    return PurchaseContext(
        occurred_at=ensure_utc(purchase.occurred_at),
        lines=tuple(
            LineContext(
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
            )
            for line in lines
        ),
        total=purchase.total,
        shipping=purchase.shipping,
        channel=purchase.channel,
        store=purchase.store,
        tier_id=tier_id,
    )


async def advance_on_event(session: AsyncSession, event: EventEnvelope) -> None:
    if not applies(event):
        return
    member_id = event.data["member_id"]
    program_id = event.program_id
    if program_id is None:
        program_id = await session.scalar(select(Member.program_id).where(Member.id == member_id))
    active = await program_of(session, program_id)
    if active is None:
        return
    counted = counted_of(event)
    challenges = counting(active, counted)
    if not challenges:
        return
    if any(challenge.goal.when is not None for challenge in challenges):
        tier = await session.scalar(select(Member.tier_id).where(Member.id == member_id))
        purchase = await _purchase(session, int(event.data["purchase_id"]), tier)
        counted = Counted(counted.of, counted.occurrence, counted.occurred_at, purchase=purchase)
    await advance(
        session, active=active, member_id=member_id, counted=counted, now=event.occurred_at
    )


async def _with_challenges(
    session: AsyncSession, events: Sequence[EventEnvelope]
) -> Sequence[EventEnvelope]:
    """The events whose program has a challenge counting their kind. An event without a
    program, or of a program whose active version cannot be read, is kept."""
    kinds: dict[int, set[ChallengeOf] | None] = {}
    kept = []
    for event in events:
        program_id = event.program_id
        if program_id is None:
            kept.append(event)
            continue
        if program_id not in kinds:
            try:
                active = await program_of(session, program_id)
            except ProgramNotFoundError:
                kinds[program_id] = None
            else:
                programs = active.program.challenges if active is not None else []
                kinds[program_id] = {challenge.goal.of for challenge in programs}
        present = kinds[program_id]
        if present is None or KINDS[event.type] in present:
            kept.append(event)
    return kept


HANDLERS = [
    Handler(
        name="challenges.advance",
        events=frozenset(KINDS),
        handle=advance_on_event,
        applies=applies,
        screen=_with_challenges,
    )
]
