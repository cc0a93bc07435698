"""The dispatcher's batches: a handler's ``handle_many`` takes many events in one unit of work
and its runs are recorded together; ``screen`` drops a batch's events a handler would not act
on, without runs; a failing event of a batch retries alone, with backoff, until dead; racing
dispatchers (PostgreSQL: ``FOR UPDATE SKIP LOCKED``) make each (handler, event) run once; a
dispatcher killed between its claim and its settlement leaves the events to be claimed again
when its lease ends, and a database-only handler's writes still happen once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.dispatch import CLAIM_LEASE, dispatch_pending
from patron.kit.outbox import (
    MAX_ATTEMPTS,
    DomainEvent,
    EventEnvelope,
    Handler,
    OutboxEvent,
    OutboxHandlerRun,
    emit,
    in_turn,
)
from patron.kit.outbox_ops import list_dead, outbox_stats
from patron.kit.time import utcnow


class Pinged(DomainEvent):
    type: ClassVar[str] = "test.pinged"
    member_id: int
    n: int


class Marked(DomainEvent):
    """What the test handlers write, one per event they take (no handler wants it)."""

    type: ClassVar[str] = "test.marked"
    n: int


async def _emit(database: Database, count: int) -> None:
    async with database.write() as session:
        for n in range(count):
            await emit(session, Pinged(member_id=1, n=n), program_id=None)


async def _marks(database: Database) -> list[int]:
    """The ``n`` of each mark the handlers wrote, sorted."""
    async with database.read() as session:
        payloads = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == Marked.type)
        )
        return sorted(int(p["n"]) for p in payloads)


async def _runs(database: Database) -> dict[tuple[int, str], tuple[str, int]]:
    async with database.read() as session:
        rows = await session.execute(
            select(
                OutboxHandlerRun.event_id,
                OutboxHandlerRun.handler,
                OutboxHandlerRun.status,
                OutboxHandlerRun.attempts,
            )
        )
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}


async def _undispatched(database: Database) -> int:
    """Pinged events not yet dispatched."""
    async with database.read() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.dispatched_at.is_(None), OutboxEvent.type == Pinged.type)
            )
            or 0
        )


async def _mark(session: AsyncSession, event: EventEnvelope) -> None:
    await emit(session, Marked(n=int(event.data["n"])), program_id=None)


def _marker(name: str, calls: list[list[int]], *, fails_on: set[int] | None = None) -> Handler:
    """Writes a mark per event; ``handle_many`` records each batch it is given in ``calls``
    (one-event runs as ``[n]`` too) and fails, as ``handle`` does, on the ``n`` in
    ``fails_on``."""
    failing = fails_on if fails_on is not None else set()

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        n = int(event.data["n"])
        calls.append([n])
        await _mark(session, event)
        if n in failing:
            raise ValueError(f"cannot take {n}")

    async def handle_many(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
        calls.append([int(event.data["n"]) for event in events])
        for event in events:
            await _mark(session, event)
        if failing & {int(event.data["n"]) for event in events}:
            raise ValueError("one of the batch failed")

    return Handler(name, frozenset({"test.pinged"}), handle, handle_many=handle_many)


async def test_a_batch_is_one_call_and_every_run_is_recorded(database: Database) -> None:
    await _emit(database, 6)
    calls: list[list[int]] = []
    report = await dispatch_pending(database, [_marker("batcher", calls)])
    assert (report.events, report.handled, report.failed) == (6, 6, 0)
    assert calls == [[0, 1, 2, 3, 4, 5]]
    assert await _marks(database) == [0, 1, 2, 3, 4, 5]
    runs = await _runs(database)
    assert sorted(v for (_, name), v in runs.items() if name == "batcher")[:1] == [("done", 1)]
    assert len([k for k in runs if k[1] == "batcher"]) == 6
    again = await dispatch_pending(database, [_marker("batcher", calls)])
    assert (again.events, again.handled) == (6, 0)  # the marks, which nobody wants
    assert len(calls) == 1
    assert await _undispatched(database) == 0


async def test_a_failing_event_of_a_batch_retries_alone(database: Database) -> None:
    await _emit(database, 5)
    calls: list[list[int]] = []
    handler = _marker("picky", calls, fails_on={2})
    now = utcnow()
    first = await dispatch_pending(database, [handler], now=now)
    assert (first.handled, first.failed, first.dead) == (4, 1, 0)
    # the batch, rolled back, then each alone: the failing one's writes roll back too
    assert calls == [[0, 1, 2, 3, 4], [0], [1], [2], [3], [4]]
    assert await _marks(database) == [0, 1, 3, 4]
    async with database.read() as session:
        event_two = await session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.payload["n"].as_integer() == 2)
        )
    runs = await _runs(database)
    assert runs[(event_two, "picky")] == ("retry", 1)
    assert [v for k, v in runs.items() if k[1] == "picky" and k[0] != event_two] == [
        ("done", 1)
    ] * 4
    # before the backoff (2 s) nothing runs again; after it, only the failed event
    calls.clear()
    early = await dispatch_pending(database, [handler], now=now + timedelta(seconds=1))
    assert (early.handled, early.failed, calls) == (0, 0, [])
    handler = _marker("picky", calls)  # it works now
    later = await dispatch_pending(database, [handler], now=now + timedelta(seconds=3))
    assert (later.events, later.handled, calls) == (1, 1, [[2]])
    assert await _marks(database) == [0, 1, 2, 3, 4]
    assert (await _runs(database))[(event_two, "picky")] == ("done", 2)
    assert await _undispatched(database) == 0


async def test_in_turn_takes_a_batch_in_one_unit_and_a_failure_alone(
    database: Database,
) -> None:
    """``in_turn(handle)``: the batch's events through ``handle`` in one unit of work (the
    message handlers: one write-lock wait on SQLite for a batch's messages); one failing
    event rolls the batch back and the others are then done once, each alone."""
    await _emit(database, 4)
    taken: list[int] = []

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        taken.append(int(event.data["n"]))
        await _mark(session, event)
        if int(event.data["n"]) == 1 and taken.count(1) == 1:
            raise ValueError("not yet")

    handler = Handler("turns", frozenset({Pinged.type}), handle, handle_many=in_turn(handle))
    first = await dispatch_pending(database, [handler])
    assert (first.handled, first.failed) == (4, 0)
    # in turn until 1 failed (the batch rolled back), then each alone: 1 fails no more
    assert taken == [0, 1, 0, 1, 2, 3]
    assert await _marks(database) == [0, 1, 2, 3]
    runs = await _runs(database)
    assert sorted(v for k, v in runs.items() if k[1] == "turns") == [("done", 1)] * 4


async def test_a_batch_that_keeps_failing_ends_dead(database: Database) -> None:
    await _emit(database, 3)
    calls: list[list[int]] = []
    handler = _marker("stubborn", calls, fails_on={1})
    moment = utcnow()
    for _ in range(MAX_ATTEMPTS + 2):
        await dispatch_pending(database, [handler], now=moment)
        moment += timedelta(days=1)
    assert calls.count([1]) == MAX_ATTEMPTS
    async with database.read() as session:
        dead = await list_dead(session)
        stats = await outbox_stats(session, moment)
    assert [(d.handler, d.attempts, d.last_error) for d in dead] == [
        ("stubborn", MAX_ATTEMPTS, "ValueError: cannot take 1")
    ]
    assert (stats.dead, stats.retrying, stats.pending) == (1, 0, 0)
    assert stats.failures_by_handler == {"stubborn": 1}
    assert await _marks(database) == [0, 2]


async def test_screen_drops_events_without_runs(database: Database) -> None:
    await _emit(database, 6)
    screened: list[list[int]] = []
    seen: list[int] = []

    async def screen(
        session: AsyncSession, events: Sequence[EventEnvelope]
    ) -> Sequence[EventEnvelope]:
        screened.append([int(event.data["n"]) for event in events])
        return [event for event in events if int(event.data["n"]) % 3 == 0]

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        seen.append(int(event.data["n"]))

    handler = Handler("thirds", frozenset({"test.pinged"}), handle, screen=screen)
    report = await dispatch_pending(database, [handler])
    assert (report.events, report.handled) == (6, 2)
    assert screened == [[0, 1, 2, 3, 4, 5]]
    assert seen == [0, 3]
    assert sorted(status for status, _ in (await _runs(database)).values()) == ["done", "done"]
    assert await _undispatched(database) == 0


async def test_a_failing_screen_runs_its_events_and_the_next_screen_still_reads(
    database: Database,
) -> None:
    """A screen whose statement fails (on PostgreSQL that aborts the read's transaction)
    keeps every event: its handler runs them all. The next handler's screen reads in a
    transaction that works."""
    await _emit(database, 3)
    seen: dict[str, list[int]] = {"broken": [], "fine": []}

    async def broken(
        session: AsyncSession, events: Sequence[EventEnvelope]
    ) -> Sequence[EventEnvelope]:
        await session.execute(text("SELECT no_such_column FROM outbox_events"))
        return []

    async def fine(
        session: AsyncSession, events: Sequence[EventEnvelope]
    ) -> Sequence[EventEnvelope]:
        count = await session.scalar(select(func.count()).select_from(OutboxEvent))
        assert count == 3
        return [event for event in events if int(event.data["n"]) != 1]

    def handle(name: str):  # type: ignore[no-untyped-def]
        async def run(session: AsyncSession, event: EventEnvelope) -> None:
            seen[name].append(int(event.data["n"]))

        return run

    handlers = [
        Handler("broken", frozenset({"test.pinged"}), handle("broken"), screen=broken),
        Handler("fine", frozenset({"test.pinged"}), handle("fine"), screen=fine),
    ]
    report = await dispatch_pending(database, handlers)

    assert (report.events, report.handled, report.failed) == (3, 5, 0)
    assert seen == {"broken": [0, 1, 2], "fine": [0, 2]}
    assert await _undispatched(database) == 0


async def test_a_run_waiting_for_its_retry_is_not_screened(database: Database) -> None:
    await _emit(database, 1)
    failing = True
    screened: list[int] = []

    async def screen(
        session: AsyncSession, events: Sequence[EventEnvelope]
    ) -> Sequence[EventEnvelope]:
        screened.append(len(events))
        return events if failing else []

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        if failing:
            raise ValueError("down")

    handler = Handler("gate", frozenset({"test.pinged"}), handle, screen=screen)
    now = utcnow()
    assert (await dispatch_pending(database, [handler], now=now)).failed == 1
    failing = False
    report = await dispatch_pending(database, [handler], now=now + timedelta(seconds=3))
    assert (report.handled, screened) == (1, [1])
    assert list((await _runs(database)).values()) == [("done", 2)]


async def test_racing_dispatchers_run_each_handler_and_event_once(database: Database) -> None:
    """Two dispatchers with their own connections drain 150 events in batches of 10, each
    with a batching handler and a one-by-one one: every (handler, event) runs once, and
    the batching handler's writes are made once."""
    await _emit(database, 150)
    calls: list[list[int]] = []
    single: list[int] = []

    async def one(session: AsyncSession, event: EventEnvelope) -> None:
        await asyncio.sleep(0.001)  # let the other dispatcher interleave
        single.append(int(event.data["n"]))

    handlers = [
        _marker("batcher", calls),
        Handler("single", frozenset({"test.pinged"}), one),
    ]
    other = Database(database.url)
    try:

        async def drain(db: Database) -> int:
            events = 0
            while True:
                report = await dispatch_pending(db, handlers, limit=10)
                events += report.events
                if report.events == 0:
                    return events
                await asyncio.sleep(0)

        first, second = await asyncio.gather(drain(database), drain(other))
    finally:
        await other.dispose()
    batched = [n for call in calls for n in call]
    assert sorted(batched) == list(range(150))
    assert sorted(single) == list(range(150))
    assert await _marks(database) == list(range(150))
    assert first + second == 300  # the 150 events and their 150 marks
    runs = await _runs(database)
    assert len(runs) == 300
    assert {status for status, _ in runs.values()} == {"done"}
    assert await _undispatched(database) == 0


class Killed(BaseException):
    """The process dying: not an ``Exception``, so no handler failure is recorded."""


async def test_a_dispatcher_killed_between_claim_and_settle(database: Database) -> None:
    """The dispatcher dies while a handler runs: the claim stays until its lease ends, then
    another dispatcher makes the runs not recorded done; the marks are written once."""
    await _emit(database, 4)
    calls: list[list[int]] = []
    alive = False

    async def dies(session: AsyncSession, event: EventEnvelope) -> None:
        if not alive:
            raise Killed

    handlers = [_marker("batcher", calls), Handler("dies", frozenset({"test.pinged"}), dies)]
    now = utcnow()
    with pytest.raises(Killed):
        await dispatch_pending(database, handlers, now=now)
    alive = True
    # claimed by the dead dispatcher: nobody runs them before its lease ends
    early = await dispatch_pending(database, handlers, now=now + timedelta(seconds=5))
    assert early.handled == 0
    assert len(calls) <= 1
    report = await dispatch_pending(
        database, handlers, now=now + CLAIM_LEASE + timedelta(seconds=1)
    )
    assert report.events == 4
    # the batch ran once or twice (recorded done before the kill on SQLite, where each work
    # commits alone; rolled back with the shared unit of work on PostgreSQL), written once
    assert calls in ([[0, 1, 2, 3]], [[0, 1, 2, 3], [0, 1, 2, 3]])
    assert report.handled == (4 if len(calls) == 1 else 8)
    assert await _marks(database) == [0, 1, 2, 3]
    runs = await _runs(database)
    assert len(runs) == 8
    assert {status for status, _ in runs.values()} == {"done"}
    assert await _undispatched(database) == 0
