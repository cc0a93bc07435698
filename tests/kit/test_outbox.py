"""The outbox core: an event commits or rolls back with its unit of work; the dispatcher runs
each wanting handler once per event (its success commits with its writes), retries failures
with backoff and ends them dead after MAX_ATTEMPTS; an event is dispatched once every handler
is done or dead."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.outbox import (
    MAX_ATTEMPTS,
    DomainEvent,
    EventEnvelope,
    Handler,
    OutboxEvent,
    OutboxHandlerRun,
    dispatch_pending,
    emit,
)
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
