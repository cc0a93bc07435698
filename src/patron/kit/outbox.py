"""The transactional outbox: domain events written in the unit of work that caused them, and the
dispatcher that hands them to handlers after the commit.

A domain names its events in its own ``events.py`` as :class:`DomainEvent` subclasses (a
frozen Pydantic model with a class-level ``type`` such as ``"tiers.changed"`` and a
``version``). A service calls :func:`emit` inside its unit of work: the event is one more row
in ``outbox_events``, so it commits with the change that caused it and a rollback drops it.
Nothing is sent from inside a transaction.

The dispatcher (:func:`dispatch_pending`, run by ``patron worker`` and inside ``patron serve``)
reads undispatched events in id order and runs every :class:`Handler` that wants the event's
type, each in a unit of work of its own (on PostgreSQL in a savepoint of a unit of work a few
runs share, :data:`RUNS_BUDGET`). A handler's success is recorded in
``outbox_handler_runs`` in the same unit of work as the handler's own writes, so a handler that
only writes to the database takes effect exactly once; one with outside effects (an HTTP call,
an email) is called at least once and must be idempotent by ``(handler, event)``
(:attr:`EventEnvelope.public_id` is stable across retries). A failure is recorded with the
attempt count and the time of the next attempt (exponential backoff); after
:data:`MAX_ATTEMPTS` the run is ``dead`` and waits for an operator to retry it. An event is
marked dispatched once each of its handlers is done or dead.

Delivery loops that keep their own schedules (webhook deliveries, outgoing messages) are
:class:`Poller`\\ s, run by the same worker next to the dispatcher.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Database, Id, JsonType, UTCDateTime
from patron.kit.raw import Sql, raw_of, read_time
from patron.kit.time import utcnow

MAX_ATTEMPTS = 12
"""Attempts before a handler run is dead: backoff 2 s, 4 s, ... 68 min, about 2.3 h in all."""

ALL_EVENTS = "*"


class DomainEvent(BaseModel):
    """A fact a domain announces. Subclasses set ``type`` (``"<domain>.<verb>"``: a contract,
    never renamed) and ``version`` (raised when a field changes meaning or goes away; adding a
    field keeps the version). Fields are the payload, JSON-ready (ids, keys, integers, ISO
    times). A ``member_id`` field, when present, is also stored in its own column."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_undispatched",
            "id",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(SmallInteger)
    program_id: Mapped[int | None] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # not before this time (a handler's retry is pending): newer events go first
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a dispatcher's claim on the event (:data:`CLAIM_LEASE`)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxHandlerRun(Base):
    __tablename__ = "outbox_handler_runs"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # done | retry | dead
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """An event as handlers receive it."""

    id: int
    type: str
    version: int
    program_id: int | None
    member_id: int | None
    occurred_at: datetime
    data: Mapping[str, Any]

    @property
    def public_id(self) -> str:
        """The id outsiders see (webhook ``webhook-id``); the same on every retry."""
        return f"evt_{self.id}"


@dataclass(frozen=True, slots=True)
class Handler:
    """Reacts to events. ``name`` is stable (it keys the handler's runs); ``events`` are the
    types it wants (:data:`ALL_EVENTS` for all). ``handle`` runs in a write unit of work of its
    own; raising means "try again later". ``applies``, when given, looks at the event alone
    (no database) and says whether ``handle`` would do anything: a run it refuses is neither
    opened nor recorded (a unit of work a run costs more than most handlers' work)."""

    name: str
    events: frozenset[str]
    handle: Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
    applies: Callable[[EventEnvelope], bool] | None = None

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


@dataclass(frozen=True, slots=True)
class Poller:
    """A delivery loop with its own schedule, run next to the dispatcher. ``run_once`` does
    what is due at ``now`` and returns how many items it handled (0: idle)."""

    name: str
    run_once: Callable[[Database, datetime], Awaitable[int]]


_INSERT = Sql(
    "INSERT INTO outbox_events (type, version, program_id, member_id, occurred_at, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


async def emit(
    session: AsyncSession,
    event: DomainEvent,
    *,
    program_id: int | None,
    occurred_at: datetime | None = None,
) -> None:
    """Write ``event`` to the outbox in ``session``'s transaction."""
    raw = await raw_of(session)
    await raw.run(_INSERT, *_row(event, program_id, occurred_at or utcnow()))


def _row(event: DomainEvent, program_id: int | None, moment: datetime) -> tuple[Any, ...]:
    """The ``_INSERT`` parameters of ``event`` (its JSON straight from pydantic-core: compact,
    non-ASCII kept, as :func:`~patron.kit.raw.json_text` writes it)."""
    member_id = getattr(event, "member_id", None)
    member = member_id if isinstance(member_id, int) and not isinstance(member_id, bool) else None
    return (event.type, event.version, program_id, member, moment, event.model_dump_json())


async def emit_many(
    session: AsyncSession,
    events: Sequence[DomainEvent],
    *,
    program_id: int | None,
    occurred_at: datetime | None = None,
) -> None:
    """Write several events in one driver call (bulk imports); as :func:`emit` otherwise."""
    if not events:
        return
    moment = occurred_at or utcnow()
    raw = await raw_of(session)
    await raw.many(_INSERT, [_row(event, program_id, moment) for event in events])


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 2 s doubling, at most an hour and a bit."""
    return timedelta(seconds=2 ** min(attempts, MAX_ATTEMPTS))


@dataclass(frozen=True, slots=True)
class Failure:
    """A handler run that failed, as the worker logs it: no exception message (it may quote
    personal data; the run's ``last_error`` keeps it, ``patron events dead`` shows it)."""

    handler: str
    event_id: str
    event_type: str
    attempt: int
    dead: bool
    error_type: str
    retry_at: datetime | None


@dataclass(slots=True)
class DispatchReport:
    events: int = 0
    handled: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _RunState:
    status: str
    attempts: int
    next_attempt_at: datetime | None


CLAIM_LEASE = timedelta(minutes=5)
"""How long a dispatcher owns the events it claimed; a crashed one's events are taken over
after this (a handler running longer than the lease may run twice)."""


def _due(now: datetime) -> Any:
    return and_(
        OutboxEvent.dispatched_at.is_(None),
        or_(OutboxEvent.due_at.is_(None), OutboxEvent.due_at <= now),
        or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until <= now),
    )


async def _claim(database: Database, now: datetime, limit: int) -> list[EventEnvelope]:
    """Take up to ``limit`` due, unclaimed events (oldest first) for this dispatcher.

    On PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``: dispatchers racing
    for the same rows each get different ones, and none waits for another. A SQLite write
    transaction holds the database's write lock, so the claim is atomic there too."""
    candidates = (
        select(OutboxEvent.id)
        .where(_due(now))
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(candidates.scalar_subquery()))
        .values(claimed_until=now + CLAIM_LEASE)
        .returning(
            OutboxEvent.id,
            OutboxEvent.type,
            OutboxEvent.version,
            OutboxEvent.program_id,
            OutboxEvent.member_id,
            OutboxEvent.occurred_at,
            OutboxEvent.payload,
        )
        .execution_options(synchronize_session=False)
    )
    async with database.write() as session:
        rows = list(await session.execute(statement))
    events = [
        EventEnvelope(
            id=row.id,
            type=row.type,
            version=row.version,
            program_id=row.program_id,
            member_id=row.member_id,
            occurred_at=read_time(row.occurred_at) or row.occurred_at,
            data=row.payload,
        )
        for row in rows
    ]
    events.sort(key=lambda event: event.id)
    return events


_RECORD_RUN = Sql(
    "INSERT INTO outbox_handler_runs (event_id, handler, status, attempts, next_attempt_at, "
    "last_error, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (event_id, handler) DO UPDATE SET status = excluded.status, "
    "attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, "
    "last_error = excluded.last_error, updated_at = excluded.updated_at"
)


async def _record_run(
    session: AsyncSession,
    event_id: int,
    handler: str,
    *,
    status: str,
    attempts: int,
    next_attempt_at: datetime | None,
    error: str | None,
    now: datetime,
) -> None:
    """Upsert the run of ``handler`` on the event (straight to the driver: one per handler
    run, the dispatcher's commonest statement)."""
    raw = await raw_of(session)
    await raw.run(_RECORD_RUN, event_id, handler, status, attempts, next_attempt_at, error, now)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """How one handler run went: ``retry_at`` is set when it failed and will be retried."""

    handler: str
    event: EventEnvelope
    status: str  # done | retry | dead
    retry_at: datetime | None = None
    error: str | None = None
    error_type: str = ""
    attempt: int = 0


def _failed(
    handler: Handler, event: EventEnvelope, attempts: int, moment: datetime, error: Exception
) -> _Attempt:
    dead = attempts >= MAX_ATTEMPTS
    return _Attempt(
        handler.name,
        event,
        "dead" if dead else "retry",
        None if dead else moment + backoff(attempts),
        f"{type(error).__name__}: {error}"[:2000],
        f"{type(error).__module__}.{type(error).__qualname__}",
        attempts,
    )


async def _record(
    session: AsyncSession, attempt: _Attempt, attempts: int, moment: datetime
) -> None:
    await _record_run(
        session,
        attempt.event.id,
        attempt.handler,
        status=attempt.status,
        attempts=attempts,
        next_attempt_at=attempt.retry_at,
        error=attempt.error,
        now=moment,
    )


async def _run_in(
    session: AsyncSession,
    handler: Handler,
    event: EventEnvelope,
    attempts: int,
    moment: datetime,
) -> _Attempt:
    """One attempt of ``handler`` on ``event`` in a savepoint of ``session``'s unit of work:
    its writes and its record of success go together; a failure rolls them back and is
    recorded instead."""
    try:
        async with session.begin_nested():
            await handler.handle(session, event)
            done = _Attempt(handler.name, event, "done")
            await _record(session, done, attempts, moment)
        return done
    except Exception as error:  # a handler's failure must not stop the others
        failed = _failed(handler, event, attempts, moment, error)
        await _record(session, failed, attempts, moment)
        return failed


async def _run_alone(
    database: Database, handler: Handler, event: EventEnvelope, attempts: int, moment: datetime
) -> _Attempt:
    """One attempt in a unit of work of its own (after a shared one failed as a whole)."""
    try:
        async with database.write() as session:
            await handler.handle(session, event)
            done = _Attempt(handler.name, event, "done")
            await _record(session, done, attempts, moment)
        return done
    except Exception as error:  # a handler's failure must not stop the others
        failed = _failed(handler, event, attempts, moment, error)
        async with database.write() as session:
            await _record(session, failed, attempts, moment)
        return failed


def _due_runs(
    events: list[EventEnvelope],
    handlers: list[Handler],
    runs: dict[tuple[int, str], _RunState],
    retry_at: dict[int, list[datetime]],
    moment: datetime,
) -> list[_Due]:
    """The runs to attempt now, in event order; a run waiting for its retry adds its time to
    ``retry_at`` instead."""
    due: list[_Due] = []
    for event in events:
        for handler in handlers:
            if not handler.wants(event.type):
                continue
            if handler.applies is not None and not handler.applies(event):
                continue
            run = runs.get((event.id, handler.name))
            if run is not None and run.status in ("done", "dead"):
                continue
            if run is not None and run.next_attempt_at is not None and run.next_attempt_at > moment:
                retry_at[event.id].append(run.next_attempt_at)
                continue
            due.append((event, handler, (run.attempts if run is not None else 0) + 1))
    return due


RUNS_BUDGET = 0.025
"""PostgreSQL: seconds of handler runs that share one unit of work (each run in a savepoint of
its own): one commit, and its WAL flush, for many runs instead of one each, while holding
the rows the handlers wrote for no longer than this (plus the run that crosses it). SQLite
runs each in a unit of work of its own."""

_Due = tuple[EventEnvelope, Handler, int]  # the event, the handler, the attempt's number


async def _run_all(database: Database, due: list[_Due], moment: datetime) -> list[_Attempt]:
    """Run the ``due`` handler runs in order, on PostgreSQL several per unit of work
    (:data:`RUNS_BUDGET`).
    A unit of work that fails as a whole (its commit, a broken connection) is run again one
    run per unit of work, so every run is recorded once."""
    if database.is_sqlite:
        # a SQLite commit costs no fsync (WAL, synchronous=NORMAL), and a unit of work that
        # began would hold the file's write lock across the next handler's awaits, where a
        # writer of another connection waits in SQLite's busy handler, blocking its loop
        return [await _run_alone(database, h, event, n, moment) for event, h, n in due]
    attempts: list[_Attempt] = []
    index = 0
    while index < len(due):
        first, chunk = index, []
        try:
            async with database.write() as session:
                started = time.monotonic()
                while index < len(due):
                    event, handler, number = due[index]
                    index += 1
                    chunk.append(await _run_in(session, handler, event, number, moment))
                    if time.monotonic() - started >= RUNS_BUDGET:
                        break
        except Exception:  # the shared unit of work failed: each run alone
            chunk = [
                await _run_alone(database, handler, event, number, moment)
                for event, handler, number in due[first:index]
            ]
        attempts.extend(chunk)
    return attempts


async def dispatch_pending(
    database: Database,
    handlers: Iterable[Handler],
    *,
    now: datetime | None = None,
    limit: int = 200,
) -> DispatchReport:
    """Claim up to ``limit`` due events (oldest first) and run their due handler runs.

    Several dispatchers may run at once (worker processes, ``patron serve`` workers): each
    event is claimed by one of them (:data:`CLAIM_LEASE`). An event whose handler waits for a
    retry is set aside until that retry is due (``due_at``), so it never holds up newer
    events."""
    moment = now or utcnow()
    wanted_by = list(handlers)
    report = DispatchReport()
    events = await _claim(database, moment, limit)
    if not events:
        return report
    async with database.read() as session:
        runs = {
            (run.event_id, run.handler): _RunState(
                run.status, run.attempts, read_time(run.next_attempt_at)
            )
            for run in await session.scalars(
                select(OutboxHandlerRun).where(
                    OutboxHandlerRun.event_id.in_([e.id for e in events])
                )
            )
        }
    retry_at: dict[int, list[datetime]] = {event.id: [] for event in events}
    report.events += len(events)
    due = _due_runs(events, wanted_by, runs, retry_at, moment)
    for attempt in await _run_all(database, due, moment):
        if attempt.status == "done":
            report.handled += 1
            continue
        report.failed += 1
        report.dead += int(attempt.status == "dead")
        report.errors.append(f"{attempt.handler} on {attempt.event.public_id}: {attempt.error}")
        report.failures.append(
            Failure(
                attempt.handler,
                attempt.event.public_id,
                attempt.event.type,
                attempt.attempt,
                attempt.status == "dead",
                attempt.error_type,
                attempt.retry_at,
            )
        )
        if attempt.retry_at is not None:
            retry_at[attempt.event.id].append(attempt.retry_at)
    finished = [event_id for event_id, times in retry_at.items() if not times]
    waiting = {event_id: min(times) for event_id, times in retry_at.items() if times}
    async with database.write() as session:
        if finished:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(finished))
                .values(dispatched_at=moment, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
        for event_id, due_at in waiting.items():
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event_id)
                .values(due_at=due_at, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
    return report
