"""The worker loop gathers a trickle of events into fuller batches: after a round that claimed
less than half a batch it waits ``GATHER_SECONDS`` before the next (issue 11: the dispatcher
in ``patron serve`` paid a round's fixed cost per handful of a till's events)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.dispatch import CLAIM_LIMIT
from patron.kit.outbox import DomainEvent, EventEnvelope, Handler, emit
from patron.worker.loop import GATHER_SECONDS, RoundReport, pause_after, run_worker


class Ticked(DomainEvent):
    type: ClassVar[str] = "test.ticked"
    number: int


@pytest.mark.parametrize(
    ("events", "polled", "once", "pause"),
    [
        (1, 0, False, GATHER_SECONDS),
        (CLAIM_LIMIT // 2 - 1, 0, False, GATHER_SECONDS),
        (CLAIM_LIMIT // 2, 0, False, 0.0),  # a backlog: the next batch at once
        (CLAIM_LIMIT, 3, False, 0.0),
        (0, 5, False, 0.0),  # only pollers were busy (a sender's batch): go on
        (1, 0, True, 0.0),  # draining (--once): never wait
    ],
)
def test_the_pause_after_a_busy_round(events: int, polled: int, once: bool, pause: float) -> None:
    report = RoundReport(events=events, polled=polled)
    assert pause_after(report, gather_seconds=GATHER_SECONDS, once=once) == pause


async def test_a_trickle_of_events_is_dispatched_in_few_rounds(database: Database) -> None:
    seen: list[int] = []
    rounds: list[int] = []

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        seen.append(int(event.data["number"]))

    handlers = [Handler("test.counter", frozenset({Ticked.type}), handle)]
    stop = asyncio.Event()

    def on_round(report: RoundReport) -> None:
        rounds.append(report.events)
        if len(seen) == 8:
            stop.set()

    async with database.write() as session:
        await emit(session, Ticked(number=0), program_id=None)
    worker = asyncio.create_task(
        run_worker(
            database,
            stop=stop,
            idle_seconds=0.01,
            gather_seconds=0.6,
            on_round=on_round,
            handlers=handlers,
            pollers=[],
        )
    )
    while not seen:  # the first round took the first event; the loop now gathers
        await asyncio.sleep(0.005)
    for number in range(1, 8):  # seven more, 20 ms apart: back-to-back rounds took them
        async with database.write() as session:  # one or two at a time
            await emit(session, Ticked(number=number), program_id=None)
        await asyncio.sleep(0.02)
    total = await asyncio.wait_for(worker, 10)
    assert sorted(seen) == list(range(8))
    assert total.events == total.handled == 8
    assert rounds[0] == 1
    assert len(rounds) <= 3, rounds  # 1, then the seven (or what arrived late) together
