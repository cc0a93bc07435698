"""The outbox's dispatcher: it claims due events (:mod:`patron.kit.outbox` writes them), runs
the handlers that want them and settles them (the batch bookkeeping is
:mod:`patron.kit.outbox_runs`).

:func:`dispatch_pending` is run by ``patron worker`` and inside ``patron serve``. It reads
undispatched events in id order and runs every :class:`~patron.kit.outbox.Handler` that wants
the event's type, each in a unit of work of its own (on PostgreSQL in a savepoint of a unit of
work a few runs share, :data:`RUNS_BUDGET`). A handler's success is recorded in the same unit
of work as its own writes; a failure waits for its retry (exponential backoff) and is ``dead``
after :data:`~patron.kit.outbox_runs.MAX_ATTEMPTS`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.outbox import EventEnvelope, Handler
from patron.kit.outbox_runs import (
    Attempt,
    RunState,
    done,
    failed,
    read_runs,
    record_attempts,
    settle_events,
)
from patron.kit.raw import Sql, raw_of, read_json, read_time
from patron.kit.time import utcnow


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


CLAIM_LEASE = timedelta(minutes=5)
"""How long a dispatcher owns the events it claimed; a crashed one's events are taken over
after this (a handler running longer than the lease may run twice)."""


CLAIM_LIMIT = 200
"""The most events a dispatcher claims at once (a batch)."""


_CANDIDATES = (
    "SELECT id FROM outbox_events WHERE dispatched_at IS NULL "
    "AND (due_at IS NULL OR due_at <= $2) AND (claimed_until IS NULL OR claimed_until <= $2) "
    "ORDER BY id LIMIT $3"
)
_CLAIM_TEMPLATE = (
    "UPDATE outbox_events SET claimed_until = $1 WHERE id IN ({candidates}) "
    "RETURNING id, type, version, program_id, member_id, occurred_at, payload"
)
_CLAIM = Sql.per_dialect(
    postgresql=_CLAIM_TEMPLATE.format(candidates=_CANDIDATES + " FOR UPDATE SKIP LOCKED"),
    sqlite=_CLAIM_TEMPLATE.format(candidates=_CANDIDATES),
)


async def _claim(database: Database, now: datetime, limit: int) -> list[EventEnvelope]:
    """Take up to ``limit`` due, unclaimed events (oldest first) for this dispatcher.

    On PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED``: dispatchers racing
    for the same rows each get different ones, and none waits for another. A SQLite write
    transaction holds the database's write lock, so the claim is atomic there too. One raw
    statement (:mod:`patron.kit.raw`): it runs every round of every dispatcher, and through
    the ORM its set-up cost more than the statement."""
    async with database.write() as session:
        raw = await raw_of(session)
        rows = await raw.all(_CLAIM, now + CLAIM_LEASE, now, limit)
    events = [
        EventEnvelope(
            id=event_id,
            type=event_type,
            version=version,
            program_id=program_id,
            member_id=member_id,
            occurred_at=read_time(occurred_at) or occurred_at,
            data=read_json(payload),
        )
        for event_id, event_type, version, program_id, member_id, occurred_at, payload in rows
    ]
    events.sort(key=lambda event: event.id)
    return events


@dataclass(frozen=True, slots=True)
class _Work:
    """Runs of one handler made together: one event (``handle``), or a batch of events the
    handler takes at once (``handle_many``). ``runs`` pairs each event with the number of the
    attempt about to be made."""

    handler: Handler
    runs: tuple[tuple[EventEnvelope, int], ...]

    @property
    def batched(self) -> bool:
        return self.handler.handle_many is not None and len(self.runs) > 1


async def _screened(
    session: AsyncSession, handler: Handler, events: list[EventEnvelope]
) -> set[int]:
    """The ids of the ``events`` the handler's screen keeps; all of them when the screen
    fails (the runs then say what is wrong). ``session`` only reads, so a failed screen's
    transaction is rolled back and the read goes on in a new one: no savepoint around every
    screen (two round trips each, on every batch)."""
    assert handler.screen is not None
    try:
        return {event.id for event in await handler.screen(session, events)}
    except Exception:  # a broken screen must not hold the batch: run, and fail there
        await session.rollback()
        return {event.id for event in events}


async def _plan(
    session: AsyncSession,
    events: list[EventEnvelope],
    handlers: list[Handler],
    runs: dict[tuple[int, str], RunState],
    retry_at: dict[int, list[datetime]],
    moment: datetime,
) -> list[_Work]:
    """The runs to attempt now, handler by handler, each handler's in event order; a run
    waiting for its retry adds its time to ``retry_at`` instead. A handler's ``screen`` sees
    its events that have no run yet (in ``session``, a read unit of work)."""
    plan: list[_Work] = []
    for handler in handlers:
        due: list[tuple[EventEnvelope, int]] = []
        fresh: list[EventEnvelope] = []
        for event in events:
            if not handler.wants(event.type):
                continue
            if handler.applies is not None and not handler.applies(event):
                continue
            run = runs.get((event.id, handler.name))
            if run is None:
                fresh.append(event)
                due.append((event, 1))
                continue
            if run.status in ("done", "dead"):
                continue
            if run.next_attempt_at is not None and run.next_attempt_at > moment:
                retry_at[event.id].append(run.next_attempt_at)
                continue
            due.append((event, run.attempts + 1))
        if handler.screen is not None and fresh:
            refused = {event.id for event in fresh} - await _screened(session, handler, fresh)
            due = [(event, number) for event, number in due if event.id not in refused]
        if not due:
            continue
        if handler.handle_many is not None:
            plan.append(_Work(handler, tuple(due)))
        else:
            plan.extend(_Work(handler, (item,)) for item in due)
    return plan


async def _attempt_in(session: AsyncSession, work: _Work, moment: datetime) -> list[Attempt]:
    """Make ``work``'s runs in savepoints of ``session``'s unit of work: the batch in one
    (``handle_many``), or, when it fails or there is no batch, each event in its own; a
    failure rolls back that savepoint's writes only. The caller records the outcomes in the
    same unit of work."""
    handler = work.handler
    if work.batched and handler.handle_many is not None:
        try:
            async with session.begin_nested():
                await handler.handle_many(session, [event for event, _ in work.runs])
            return [done(handler.name, event, number) for event, number in work.runs]
        except Exception:  # one event of the batch failed: find which, each alone
            pass
    outcomes: list[Attempt] = []
    for event, number in work.runs:
        try:
            async with session.begin_nested():
                await handler.handle(session, event)
            outcomes.append(done(handler.name, event, number))
        except Exception as error:  # a handler's failure must not stop the others
            outcomes.append(failed(handler.name, event, number, moment, error))
    return outcomes


async def _attempt_alone(database: Database, work: _Work, moment: datetime) -> list[Attempt]:
    """Make ``work``'s runs in units of work of their own (SQLite, or after a shared one
    failed as a whole): the batch in one, or, when it fails or there is no batch, one per
    event; each with its record."""
    handler = work.handler
    if work.batched and handler.handle_many is not None:
        try:
            async with database.write() as session:
                await handler.handle_many(session, [event for event, _ in work.runs])
                outcomes = [done(handler.name, event, number) for event, number in work.runs]
                await record_attempts(session, outcomes, moment)
            return outcomes
        except Exception:  # one event of the batch failed: find which, each alone
            pass
    outcomes = []
    for event, number in work.runs:
        try:
            async with database.write() as session:
                await handler.handle(session, event)
                outcome = done(handler.name, event, number)
                await record_attempts(session, [outcome], moment)
        except Exception as error:  # a handler's failure must not stop the others
            outcome = failed(handler.name, event, number, moment, error)
            async with database.write() as session:
                await record_attempts(session, [outcome], moment)
        outcomes.append(outcome)
    return outcomes


RUNS_BUDGET = 0.025
"""PostgreSQL: seconds of handler work that share one unit of work (each run, or each
handler's batch, in a savepoint of its own; their records in one statement at the end): one
commit, and its WAL flush, for many runs instead of one each, while holding the rows the
handlers wrote for no longer than this (plus the work that crosses it). SQLite runs each in
a unit of work of its own."""


async def _attempt_all(database: Database, plan: list[_Work], moment: datetime) -> list[Attempt]:
    """Make the ``plan``'s runs in order, on PostgreSQL several per unit of work
    (:data:`RUNS_BUDGET`). A unit of work that fails as a whole (its commit, a broken
    connection) is made again one work per unit of work, so every run is recorded once."""
    if database.is_sqlite:
        # a SQLite commit costs no fsync (WAL, synchronous=NORMAL), and a unit of work that
        # began would hold the file's write lock across the next handler's awaits, where a
        # writer of another connection waits in SQLite's busy handler, blocking its loop
        outcomes: list[Attempt] = []
        for work in plan:
            outcomes += await _attempt_alone(database, work, moment)
        return outcomes
    outcomes = []
    index = 0
    while index < len(plan):
        first, chunk = index, []
        try:
            async with database.write() as session:
                started = time.monotonic()
                while index < len(plan):
                    index += 1
                    chunk += await _attempt_in(session, plan[index - 1], moment)
                    if time.monotonic() - started >= RUNS_BUDGET:
                        break
                await record_attempts(session, chunk, moment)
        except Exception:  # the shared unit of work failed: each work alone
            chunk = []
            for work in plan[first:index]:
                chunk += await _attempt_alone(database, work, moment)
        outcomes.extend(chunk)
    return outcomes


def _report(report: DispatchReport, outcome: Attempt) -> None:
    if outcome.status == "done":
        report.handled += 1
        return
    report.failed += 1
    report.dead += int(outcome.status == "dead")
    report.errors.append(f"{outcome.handler} on {outcome.event.public_id}: {outcome.error}")
    report.failures.append(
        Failure(
            outcome.handler,
            outcome.event.public_id,
            outcome.event.type,
            outcome.attempt,
            outcome.status == "dead",
            outcome.error_type,
            outcome.retry_at,
        )
    )


async def dispatch_pending(
    database: Database,
    handlers: Iterable[Handler],
    *,
    now: datetime | None = None,
    limit: int = CLAIM_LIMIT,
) -> DispatchReport:
    """Claim up to ``limit`` due events (oldest first, one statement) and make their due
    handler runs: each handler's batch in one go where it has ``handle_many``, the outcomes
    recorded in one statement per unit of work, then the events settled in one more.

    Several dispatchers may run at once (worker processes, ``patron serve`` workers): each
    event is claimed by one of them (:data:`CLAIM_LEASE`; a dispatcher killed before it
    settles its batch leaves the events to be claimed again when the lease ends, and the
    runs it recorded done are not made again). An event whose handler waits for a retry is
    set aside until that retry is due (``due_at``), so it never holds up newer events."""
    moment = now or utcnow()
    wanted_by = list(handlers)
    report = DispatchReport()
    events = await _claim(database, moment, limit)
    if not events:
        return report
    retry_at: dict[int, list[datetime]] = {event.id: [] for event in events}
    async with database.read() as session:
        runs = await read_runs(session, [event.id for event in events])
        plan = await _plan(session, events, wanted_by, runs, retry_at, moment)
    report.events += len(events)
    for outcome in await _attempt_all(database, plan, moment):
        _report(report, outcome)
        if outcome.retry_at is not None:
            retry_at[outcome.event.id].append(outcome.retry_at)
    finished = [event_id for event_id, times in retry_at.items() if not times]
    waiting = {event_id: min(times) for event_id, times in retry_at.items() if times}
    async with database.write() as session:
        await settle_events(session, finished, waiting, moment)
    return report


__all__ = [
    "CLAIM_LEASE",
    "CLAIM_LIMIT",
    "RUNS_BUDGET",
    "DispatchReport",
    "Failure",
    "dispatch_pending",
]
