"""``/events``: custom events of members (``POST /events``, admin, staff and pos: they apply
the campaigns of ``trigger: event``), and the outbox's dead letters and the dispatcher's lag
and failures (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from patron.api.deps import Admin, Now, Reader, ReadSession, WriteSession
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.campaigns.custom_events import record_event
from patron.campaigns.errors import EventInFutureError, UnknownEventTypeError
from patron.campaigns.event_schemas import CustomEventCreate, CustomEventRead
from patron.kit.errors import IdempotencyConflictError
from patron.kit.outbox_ops import list_dead, outbox_stats, retry_dead
from patron.kit.outbox_schemas import DeadLetter, EventStats, RetryRequest, RetryResult
from patron.kit.strict import DIGITS
from patron.kit.time import utcnow
from patron.members.errors import MemberBlockedError, MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program

router = APIRouter(prefix="/events", tags=["events"])


@router.get("/dead", response_model=list[DeadLetter])
async def dead_letters(
    session: ReadSession,
    _: Admin,
    event_id: Annotated[int | None, Query(ge=1, le=2**63 - 1), DIGITS] = None,
    handler: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000), DIGITS] = 100,
) -> list[DeadLetter]:
    """Handler runs that gave up after every attempt, newest first."""
    rows = await list_dead(session, event_id=event_id, handler=handler, limit=limit)
    return [
        DeadLetter(
            run_id=r.run_id,
            event_id=r.event_id,
            event=r.public_id,
            type=r.event_type,
            member_id=r.member_id,
            handler=r.handler,
            attempts=r.attempts,
            last_error=r.last_error,
            failed_at=r.failed_at,
        )
        for r in rows
    ]


@router.post("/dead/retry", response_model=RetryResult)
async def retry_dead_letters(session: WriteSession, _: Admin, body: RetryRequest) -> RetryResult:
    """Give the matching dead runs a fresh set of attempts; the next worker round runs them."""
    count = await retry_dead(
        session, utcnow(), run_id=body.run_id, event_id=body.event_id, handler=body.handler
    )
    return RetryResult(retried=count)


@router.get("/stats", response_model=EventStats)
async def event_stats(session: ReadSession, _: Admin) -> EventStats:
    """Backlog (pending, oldest), failing runs (retrying, dead, per handler) and the lag from
    occurrence to dispatch (p50/p99 over the last hour)."""
    s = await outbox_stats(session, utcnow())
    return EventStats(
        pending=s.pending,
        oldest_pending_seconds=s.oldest_pending_seconds,
        retrying=s.retrying,
        dead=s.dead,
        dispatched_last_hour=s.dispatched_last_hour,
        lag_p50_ms=s.lag_p50_ms,
        lag_p99_ms=s.lag_p99_ms,
        failures_by_handler=s.failures_by_handler,
    )


@router.post(
    "",
    response_model=CustomEventRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": CustomEventRead, "description": "The same event posted again"}},
)
@raises(
    ProgramNotFoundError,
    MemberNotFoundError,
    MemberBlockedError,
    IdempotencyConflictError,
    UnknownEventTypeError,
    EventInFutureError,
)
async def post_event(
    data: CustomEventCreate,
    session: WriteSession,
    response: Response,
    _: Reader,
    till: TillIdentityDep,
    now: Now,
) -> CustomEventRead:
    """Record a member's custom event (``type``: the ``event`` of a campaign of the program
    file, such as ``social_share``) and apply its campaigns' bonus points (201). The same body
    again with the same ``idempotency_key`` answers the first result (200) and credits
    nothing; another body with that key is 409 ``idempotency_conflict``. A type no campaign
    defines is 422 ``unknown_event_type`` (field ``type``); a blocked member's event is 409
    ``member_blocked`` and is not recorded."""
    await till.check(session, data.member_id, now=now)
    active = await get_active_program(session)
    recorded = await record_event(session, active=active, data=data, now=now)
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return recorded.event
