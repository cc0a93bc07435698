"""Operating the outbox: dead letters (list, retry) and the dispatcher's lag and failures.

Used by ``patron events ...`` and the admin routes ``/api/v1/events/...``. A dead run is a
handler that failed :data:`~patron.kit.outbox.MAX_ATTEMPTS` times; retrying it gives it a fresh
set of attempts (due at once) and returns its event to the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.metrics import Backlog
from patron.kit.outbox import OutboxEvent, OutboxHandlerRun
from patron.kit.raw import read_time

LAG_WINDOW = timedelta(hours=1)
LAG_SAMPLE = 10_000


@dataclass(frozen=True, slots=True)
class DeadRun:
    run_id: int
    event_id: int
    event_type: str
    member_id: int | None
    handler: str
    attempts: int
    last_error: str | None
    failed_at: datetime

    @property
    def public_id(self) -> str:
        return f"evt_{self.event_id}"


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    """Events not yet dispatched."""
    oldest_pending_seconds: float | None
    retrying: int
    """Handler runs waiting for a retry."""
    dead: int
    """Handler runs that gave up (dead letters)."""
    dispatched_last_hour: int
    lag_p50_ms: float | None
    """Occurrence to dispatch, over the events dispatched in the last hour."""
    lag_p99_ms: float | None
    failures_by_handler: dict[str, int]
    """Runs retrying or dead, per handler."""


async def list_dead(
    session: AsyncSession,
    *,
    event_id: int | None = None,
    handler: str | None = None,
    limit: int = 100,
) -> list[DeadRun]:
    """Dead handler runs, newest failure first."""
    query = (
        select(
            OutboxHandlerRun.id,
            OutboxHandlerRun.event_id,
            OutboxEvent.type,
            OutboxEvent.member_id,
            OutboxHandlerRun.handler,
            OutboxHandlerRun.attempts,
            OutboxHandlerRun.last_error,
            OutboxHandlerRun.updated_at,
        )
        .join(OutboxEvent, OutboxEvent.id == OutboxHandlerRun.event_id)
        .where(OutboxHandlerRun.status == "dead")
        .order_by(OutboxHandlerRun.updated_at.desc(), OutboxHandlerRun.id.desc())
        .limit(limit)
    )
    if event_id is not None:
        query = query.where(OutboxHandlerRun.event_id == event_id)
    if handler is not None:
        query = query.where(OutboxHandlerRun.handler == handler)
    return [
        DeadRun(
            run_id=row[0],
            event_id=row[1],
            event_type=row[2],
            member_id=row[3],
            handler=row[4],
            attempts=row[5],
            last_error=row[6],
            failed_at=read_time(row[7]) or row[7],
        )
        for row in await session.execute(query)
    ]


async def retry_dead(
    session: AsyncSession,
    now: datetime,
    *,
    run_id: int | None = None,
    event_id: int | None = None,
    handler: str | None = None,
) -> int:
    """Give the matching dead runs a fresh set of attempts, due at ``now``; returns how many.
    Without a filter, every dead run is retried."""
    condition = OutboxHandlerRun.status == "dead"
    if run_id is not None:
        condition = condition & (OutboxHandlerRun.id == run_id)
    if event_id is not None:
        condition = condition & (OutboxHandlerRun.event_id == event_id)
    if handler is not None:
        condition = condition & (OutboxHandlerRun.handler == handler)
    event_ids = list(await session.scalars(select(OutboxHandlerRun.event_id).where(condition)))
    if not event_ids:
        return 0
    await session.execute(
        update(OutboxHandlerRun)
        .where(condition)
        .values(status="retry", attempts=0, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(sorted(set(event_ids))))
        .values(dispatched_at=None, due_at=None)
        .execution_options(synchronize_session=False)
    )
    return len(event_ids)


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def outbox_backlog(session: AsyncSession, now: datetime) -> Backlog:
    """The backlog alone (for ``/metrics``): pending events, the oldest one's age, runs
    retrying and dead; two queries, without :func:`outbox_stats`' sample of lags."""
    pending, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxEvent.occurred_at)).where(
                OutboxEvent.dispatched_at.is_(None)
            )
        )
    ).one()
    oldest_at = read_time(oldest)
    counts = {"retry": 0, "dead": 0}
    for status, count in await session.execute(
        select(OutboxHandlerRun.status, func.count())
        .where(OutboxHandlerRun.status.in_(("retry", "dead")))
        .group_by(OutboxHandlerRun.status)
    ):
        counts[status] = count
    return Backlog(
        pending=pending,
        oldest_pending_seconds=(
            0.0 if oldest_at is None else max(0.0, (now - oldest_at).total_seconds())
        ),
        retrying=counts["retry"],
        dead=counts["dead"],
    )


async def outbox_stats(session: AsyncSession, now: datetime) -> OutboxStats:
    """The dispatcher's backlog, lag and failures at ``now``."""
    pending, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxEvent.occurred_at)).where(
                OutboxEvent.dispatched_at.is_(None)
            )
        )
    ).one()
    oldest_at = read_time(oldest)
    failures: dict[str, int] = {}
    counts = {"retry": 0, "dead": 0}
    for status, handler, count in await session.execute(
        select(OutboxHandlerRun.status, OutboxHandlerRun.handler, func.count())
        .where(OutboxHandlerRun.status.in_(("retry", "dead")))
        .group_by(OutboxHandlerRun.status, OutboxHandlerRun.handler)
    ):
        counts[status] += count
        failures[handler] = failures.get(handler, 0) + count
    recent = list(
        await session.execute(
            select(OutboxEvent.occurred_at, OutboxEvent.dispatched_at)
            .where(OutboxEvent.dispatched_at >= now - LAG_WINDOW)
            .order_by(OutboxEvent.dispatched_at.desc())
            .limit(LAG_SAMPLE)
        )
    )
    lags = sorted(
        max(0.0, ((read_time(done) or now) - (read_time(at) or now)).total_seconds() * 1000)
        for at, done in recent
    )
    return OutboxStats(
        pending=pending,
        oldest_pending_seconds=(
            None if oldest_at is None else max(0.0, (now - oldest_at).total_seconds())
        ),
        retrying=counts["retry"],
        dead=counts["dead"],
        dispatched_last_hour=len(recent),
        lag_p50_ms=_percentile(lags, 0.50),
        lag_p99_ms=_percentile(lags, 0.99),
        failures_by_handler=dict(sorted(failures.items())),
    )
