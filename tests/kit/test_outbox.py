"""The outbox core: an event commits or rolls back with its unit of work; the dispatcher runs
each wanting handler once per event (its success commits with its writes), retries failures
with backoff and ends them dead after MAX_ATTEMPTS; an event is dispatched once every handler
is done or dead."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import (
    MAX_ATTEMPTS,
    DomainEvent,
    EventEnvelope,
    Handler,
    OutboxEvent,
    OutboxHandlerRun,
    emit,
)
from patron.kit.outbox_ops import list_dead, outbox_stats, retry_dead
from patron.kit.time import utcnow


class Pinged(DomainEvent):
    type: ClassVar[str] = "test.pinged"
    member_id: int
    n: int


async def _events(database: Database) -> list[OutboxEvent]:
    async with database.read() as session:
        rows = list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        session.expunge_all()
        return rows


async def test_event_commits_with_its_unit_of_work(database: Database) -> None:
    async with database.write() as session:
        await emit(session, Pinged(member_id=7, n=1), program_id=None)

    async def fail_after_emitting() -> None:
        async with database.write() as session:
            await emit(session, Pinged(member_id=7, n=2), program_id=None)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await fail_after_emitting()
    rows = await _events(database)
    assert [(r.type, r.version, r.member_id, r.payload) for r in rows] == [
        ("test.pinged", 1, 7, {"member_id": 7, "n": 1})
    ]
    assert rows[0].dispatched_at is None


async def test_dispatch_runs_each_handler_once_and_marks_dispatched(database: Database) -> None:
    seen: list[tuple[str, int]] = []

    async def record(session: AsyncSession, event: EventEnvelope) -> None:
        seen.append((event.type, int(event.data["n"])))

    handler = Handler("recorder", frozenset({"test.pinged"}), record)
    other = Handler("other", frozenset({"test.other"}), record)
    async with database.write() as session:
        for n in range(3):
            await emit(session, Pinged(member_id=1, n=n), program_id=None)
    report = await dispatch_pending(database, [handler, other])
    assert (report.events, report.handled, report.failed) == (3, 3, 0)
    assert seen == [("test.pinged", 0), ("test.pinged", 1), ("test.pinged", 2)]
    assert all(row.dispatched_at is not None for row in await _events(database))
    again = await dispatch_pending(database, [handler, other])
    assert (again.events, again.handled) == (0, 0)
    assert len(seen) == 3


async def test_failures_back_off_then_die(database: Database) -> None:
    calls: list[int] = []

    async def fail(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(event.id)
        raise ValueError("endpoint down")

    async def succeed(session: AsyncSession, event: EventEnvelope) -> None:
        return None

    handlers = [
        Handler("flaky", frozenset({"*"}), fail),
        Handler("fine", frozenset({"*"}), succeed),
    ]
    async with database.write() as session:
        await emit(session, Pinged(member_id=1, n=0), program_id=None)
    now = utcnow()
    first = await dispatch_pending(database, handlers, now=now)
    assert (first.handled, first.failed, first.dead) == (1, 1, 0)
    # not due yet: nothing runs, the event stays undispatched
    early = await dispatch_pending(database, handlers, now=now + timedelta(seconds=1))
    assert (early.handled, early.failed) == (0, 0)
    assert len(calls) == 1
    moment = now
    for _ in range(MAX_ATTEMPTS - 1):
        moment += timedelta(days=1)
        await dispatch_pending(database, handlers, now=moment)
    assert len(calls) == MAX_ATTEMPTS
    async with database.read() as session:
        run = (
            await session.execute(
                select(
                    OutboxHandlerRun.status, OutboxHandlerRun.attempts, OutboxHandlerRun.last_error
                ).where(OutboxHandlerRun.handler == "flaky")
            )
        ).one()
        done = await session.scalar(select(func.count()).where(OutboxHandlerRun.status == "done"))
    assert run is not None
    assert (run.status, run.attempts) == ("dead", MAX_ATTEMPTS)
    assert run.last_error == "ValueError: endpoint down"
    assert done == 1
    assert all(row.dispatched_at is not None for row in await _events(database))


async def test_a_handler_failure_rolls_back_its_own_writes(database: Database) -> None:
    async def write_then_fail(session: AsyncSession, event: EventEnvelope) -> None:
        await emit(session, Pinged(member_id=2, n=99), program_id=None)
        raise ValueError("half done")

    async with database.write() as session:
        await emit(session, Pinged(member_id=1, n=0), program_id=None)
    await dispatch_pending(database, [Handler("h", frozenset({"test.pinged"}), write_then_fail)])
    rows = await _events(database)
    assert [row.payload["n"] for row in rows] == [0]


async def _emit_many(database: Database, count: int) -> None:
    async with database.write() as session:
        for n in range(count):
            await emit(session, Pinged(member_id=1, n=n), program_id=None)


async def test_racing_dispatchers_handle_each_event_once(database: Database) -> None:
    """Two dispatchers (each with its own connections) drain the same outbox at once: on
    PostgreSQL they claim rows FOR UPDATE SKIP LOCKED, on SQLite under the write lock."""
    await _emit_many(database, 120)
    seen: list[tuple[str, int]] = []

    def recorder(name: str) -> Handler:
        async def record(session: AsyncSession, event: EventEnvelope) -> None:
            await asyncio.sleep(0.001)  # let the other dispatcher interleave
            seen.append((name, event.id))

        return Handler("recorder", frozenset({"test.pinged"}), record)

    other = Database(database.url)
    try:

        async def drain(db: Database, name: str) -> int:
            handled = 0
            while True:
                report = await dispatch_pending(db, [recorder(name)], limit=10)
                handled += report.handled
                if report.events == 0:
                    return handled
                await asyncio.sleep(0)

        first, second = await asyncio.gather(drain(database, "a"), drain(other, "b"))
    finally:
        await other.dispose()
    ids = [event_id for _, event_id in seen]
    assert len(ids) == 120
    assert len(set(ids)) == 120
    assert first + second == 120
    async with database.read() as session:
        runs = await session.scalar(select(func.count()).select_from(OutboxHandlerRun))
    assert runs == 120
    assert all(row.dispatched_at is not None for row in await _events(database))


async def test_a_handler_in_retry_does_not_starve_newer_events(database: Database) -> None:
    """The oldest events wait for a retry: a dispatcher with a small batch still reaches the
    newer ones instead of re-reading the stuck ones."""

    async def pick(session: AsyncSession, event: EventEnvelope) -> None:
        if int(event.data["n"]) < 5:
            raise ValueError("not yet")
        handled.append(int(event.data["n"]))

    handled: list[int] = []
    handler = Handler("picky", frozenset({"test.pinged"}), pick)
    await _emit_many(database, 5)
    now = utcnow()
    first = await dispatch_pending(database, [handler], now=now, limit=5)
    assert (first.failed, first.handled) == (5, 0)
    async with database.write() as session:
        for n in range(5, 8):
            await emit(session, Pinged(member_id=1, n=n), program_id=None)
    second = await dispatch_pending(database, [handler], now=now + timedelta(seconds=1), limit=5)
    assert (second.events, second.handled, second.failed) == (3, 3, 0)
    assert handled == [5, 6, 7]
    # once due, the stuck ones are offered again
    third = await dispatch_pending(database, [handler], now=now + timedelta(seconds=3), limit=5)
    assert (third.events, third.failed) == (5, 5)


async def test_a_crashed_dispatchers_claim_expires(database: Database) -> None:
    await _emit_many(database, 1)
    now = utcnow()
    async with database.write() as session:
        await session.execute(update(OutboxEvent).values(claimed_until=now + timedelta(minutes=5)))
    seen: list[int] = []

    async def record(session: AsyncSession, event: EventEnvelope) -> None:
        seen.append(event.id)

    handler = Handler("h", frozenset({"*"}), record)
    assert (await dispatch_pending(database, [handler], now=now)).events == 0
    later = await dispatch_pending(database, [handler], now=now + timedelta(minutes=6))
    assert (later.events, later.handled) == (1, 1)


async def _kill(database: Database, handler: Handler, now: datetime) -> datetime:
    moment = now
    for _ in range(MAX_ATTEMPTS):
        await dispatch_pending(database, [handler], now=moment)
        moment += timedelta(days=1)
    return moment


async def test_dead_letters_are_listed_retried_and_counted(database: Database) -> None:
    failing = True
    calls: list[int] = []

    async def flaky(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(event.id)
        if failing:
            raise ValueError("endpoint down")

    handler = Handler("flaky", frozenset({"test.pinged"}), flaky)
    await _emit_many(database, 2)
    now = utcnow()
    moment = await _kill(database, handler, now)
    async with database.read() as session:
        dead = await list_dead(session)
        stats = await outbox_stats(session, moment)
    assert [(d.handler, d.attempts, d.last_error) for d in dead] == [
        ("flaky", MAX_ATTEMPTS, "ValueError: endpoint down")
    ] * 2
    assert (stats.pending, stats.dead, stats.retrying) == (0, 2, 0)
    assert stats.failures_by_handler == {"flaky": 2}
    # retrying changes nothing for a filter that matches nothing
    async with database.write() as session:
        assert await retry_dead(session, moment, handler="other") == 0
        assert await retry_dead(session, moment, event_id=dead[0].event_id) == 1
    failing = False
    report = await dispatch_pending(database, [handler], now=moment)
    assert (report.events, report.handled) == (1, 1)
    async with database.read() as session:
        left = await list_dead(session)
        stats = await outbox_stats(session, moment)
    assert [d.event_id for d in left] == [dead[1].event_id]
    assert (stats.pending, stats.dead) == (0, 1)
    async with database.write() as session:
        assert await retry_dead(session, moment, run_id=left[0].run_id) == 1
    assert (await dispatch_pending(database, [handler], now=moment)).handled == 1
    async with database.read() as session:
        assert await list_dead(session) == []


async def test_stats_report_backlog_and_lag(database: Database) -> None:
    await _emit_many(database, 3)
    now = utcnow()
    async with database.read() as session:
        before = await outbox_stats(session, now + timedelta(seconds=10))
    assert before.pending == 3
    assert before.oldest_pending_seconds is not None
    assert before.oldest_pending_seconds >= 10
    assert before.lag_p99_ms is None
    moment = now + timedelta(seconds=2)
    await dispatch_pending(database, [], now=moment)
    async with database.read() as session:
        after = await outbox_stats(session, moment)
    assert (after.pending, after.dispatched_last_hour) == (0, 3)
    assert after.lag_p50_ms is not None
    assert after.lag_p99_ms is not None
    assert 1500 <= after.lag_p50_ms <= after.lag_p99_ms <= 10_000


async def test_runs_sharing_a_unit_of_work_keep_their_own_outcomes(database: Database) -> None:
    """On PostgreSQL several runs share a unit of work, each in a savepoint (SQLite runs each
    alone): a failing run loses its writes only, the others' commit."""

    async def write_unless_odd(session: AsyncSession, event: EventEnvelope) -> None:
        await emit(session, Pinged(member_id=3, n=100 + int(event.data["n"])), program_id=None)
        if int(event.data["n"]) % 2:
            raise ValueError("odd")

    await _emit_many(database, 5)
    handler = Handler("writer", frozenset({"test.pinged"}), write_unless_odd)
    report = await dispatch_pending(database, [handler])
    assert (report.events, report.handled, report.failed, report.dead) == (5, 3, 2, 0)
    rows = await _events(database)
    assert [row.payload["n"] for row in rows] == [0, 1, 2, 3, 4, 100, 102, 104]
    async with database.read() as session:
        runs = dict(
            (
                await session.execute(select(OutboxHandlerRun.event_id, OutboxHandlerRun.status))
            ).all()
        )
    assert [runs[row.id] for row in rows[:5]] == ["done", "retry", "done", "retry", "done"]
    assert [row.dispatched_at is None for row in rows[:5]] == [False, True, False, True, False]


async def test_a_shared_unit_of_work_that_fails_at_its_commit_runs_each_alone(
    database: Database,
) -> None:
    """A run whose writes break the commit (a deferred foreign key) fails the shared unit of
    work; its runs are then made again one per unit of work: the others are done once, the
    breaking one is a retry."""
    async with database.write() as session:
        await session.execute(
            text(
                "CREATE TABLE outbox_guard (event_id INTEGER REFERENCES outbox_events (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    seen: list[int] = []

    async def breaks_commit_on_one(session: AsyncSession, event: EventEnvelope) -> None:
        seen.append(int(event.data["n"]))
        if event.data["n"] == 1:
            await session.execute(text("INSERT INTO outbox_guard (event_id) VALUES (-1)"))

    try:
        await _emit_many(database, 3)
        handler = Handler("guarded", frozenset({"test.pinged"}), breaks_commit_on_one)
        report = await dispatch_pending(database, [handler])
    finally:
        async with database.write() as session:
            await session.execute(text("DROP TABLE outbox_guard"))
    assert (report.handled, report.failed) == (2, 1)
    assert seen.count(0) in (1, 2)  # once alone, and once shared on PostgreSQL
    assert seen.count(2) in (1, 2)
    async with database.read() as session:
        statuses = sorted((await session.execute(select(OutboxHandlerRun.status))).scalars().all())
    assert statuses == ["done", "done", "retry"]
