"""Custom events (``POST /events``): a member's social share, app install, completed profile.
Never commits.

A custom event's type is defined by the campaigns that name it (``trigger: event``,
``event: social_share``): their ``bonus_points``, limits, budget, window, audience and
stacking are the type's points and limits; a challenge that counts the type (``goal: {of:
event, event: social_share}``) defines it too. A type no campaign (whatever its status) and no
challenge of the active program names is refused (422 ``unknown_event_type``); a type whose
campaigns are paused or outside their window is recorded and gives nothing. An event of a
blocked member is refused (409 ``member_blocked``) and not recorded.

:func:`record_event` is idempotent on ``idempotency_key`` within the program: the member's
account is locked first (two posts for one member run one after the other), then the event is
inserted with ``ON CONFLICT DO NOTHING``; a key taken before answers the stored result again
(same body: ``created`` false, nothing credited) or is 409 ``idempotency_conflict``. The
event's campaigns apply with the occurrence ``event:<id>``
(:func:`patron.campaigns.triggers.apply_trigger`), and the event ``events.recorded`` is
emitted in the same unit of work (the challenges count it, :mod:`patron.challenges.handlers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.errors import EventInFutureError, UnknownEventTypeError
from patron.campaigns.event_schemas import CampaignApplied, CustomEventCreate, CustomEventRead
from patron.campaigns.events import CustomEventRecorded
from patron.campaigns.models import CustomEvent
from patron.campaigns.triggers import apply_trigger, trigger_campaigns
from patron.kit.errors import IdempotencyConflictError
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.members import service as member_service
from patron.programs.schemas import ActiveProgram
from patron.rules.vocabulary import Trigger


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    event: CustomEventRead
    created: bool


def event_types(active: ActiveProgram) -> list[str]:
    """The custom event types the active program defines (sorted): those its campaigns name
    and those its challenges count."""
    named = {c.event for c in trigger_campaigns(active, Trigger.EVENT) if c.event}
    named |= {c.goal.event for c in active.program.challenges if c.goal.event is not None}
    return sorted(named)


async def _member_id(session: AsyncSession, active: ActiveProgram, data: CustomEventCreate) -> int:
    """The event's member; 409 ``member_blocked`` for a blocked one (it earns nothing, and
    the event is not recorded)."""
    state = await member_service.get_member_state(
        session,
        program_id=active.program_id,
        member_id=data.member_id,
        external_id=data.member_external_id,
    )
    member_service.ensure_active(state)
    return state.id


def _insert(session: AsyncSession, values: dict[str, object]):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(CustomEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["program_id", "idempotency_key"])
        .returning(CustomEvent.id)
    )


async def _stored(
    session: AsyncSession, program_id: int, data: CustomEventCreate, fingerprint: str
) -> RecordedEvent:
    found = (
        await session.execute(
            select(CustomEvent).where(
                CustomEvent.program_id == program_id,
                CustomEvent.idempotency_key == data.idempotency_key,
            )
        )
    ).scalar_one()
    if found.fingerprint != fingerprint:
        raise IdempotencyConflictError(
            f"an event with idempotency_key {data.idempotency_key!r} was posted with other data",
            field="idempotency_key",
        )
    return RecordedEvent(_read(found), created=False)


def _read(row: CustomEvent) -> CustomEventRead:
    return CustomEventRead(
        id=row.id,
        member_id=row.member_id,
        type=row.type,
        occurred_at=row.occurred_at,
        idempotency_key=row.idempotency_key,
        attributes=dict(row.attributes),
        points=row.points,
        campaigns=[CampaignApplied.model_validate(item) for item in row.result["campaigns"]],
    )


async def record_event(
    session: AsyncSession, *, active: ActiveProgram, data: CustomEventCreate, now: datetime
) -> RecordedEvent:
    """Record a member's custom event and apply its campaigns (see the module docstring)."""
    campaigns = trigger_campaigns(active, Trigger.EVENT, event=data.type)
    if data.type not in event_types(active):
        known = ", ".join(event_types(active)) or "none"
        raise UnknownEventTypeError(
            f"no campaign or challenge defines the event type {data.type!r} (defined: {known})",
            field="type",
        )
    ahead = timedelta(minutes=active.program.purchases.max_future_minutes)
    if data.occurred_at > now + ahead:
        raise EventInFutureError(
            "occurred_at is later than the program allows (purchases.max_future_minutes)",
            field="occurred_at",
        )
    member_id = await _member_id(session, active, data)
    await ledger_service.lock_account_for_update(session, member_id)
    fingerprint = data.fingerprint()
    values: dict[str, object] = {
        "program_id": active.program_id,
        "member_id": member_id,
        "type": data.type,
        "idempotency_key": data.idempotency_key,
        "fingerprint": fingerprint,
        "occurred_at": data.occurred_at,
        "attributes": dict(data.attributes),
        "points": 0,
        "result": {},
        "created_at": now,
    }
    event_id = await session.scalar(_insert(session, values))
    if event_id is None:
        return await _stored(session, active.program_id, data, fingerprint)
    outcome = await apply_trigger(
        session,
        active=active,
        member_id=member_id,
        campaigns=campaigns,
        occurrence=f"event:{event_id}",
        occurred_at=data.occurred_at,
        now=now,
        attributes=dict(data.attributes),
    )
    recorded = CustomEventRecorded(
        member_id=member_id, event_id=event_id, event_type=data.type, occurred_at=data.occurred_at
    )
    await emit(session, recorded, program_id=active.program_id, occurred_at=now)
    row = await session.get(CustomEvent, event_id)
    assert row is not None
    row.points = outcome.points
    row.result = {
        "campaigns": [
            {"key": r.key, "applied": r.applied, "points": r.points, "reason": r.reason}
            for r in outcome.campaigns
        ]
    }
    await session.flush()
    read = _read(row)
    return RecordedEvent(read, created=True)
