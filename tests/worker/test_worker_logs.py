"""The worker logs each failed handler run and each dead letter as a JSON line: ids and the
error's type, never its message (issue 16, part 4)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.logs import configure_logging
from patron.kit.outbox import (
    MAX_ATTEMPTS,
    DomainEvent,
    EventEnvelope,
    Handler,
    OutboxEvent,
    OutboxHandlerRun,
    emit,
)
from patron.worker.loop import run_round


class Pinged(DomainEvent):
    type: ClassVar[str] = "test.pinged"
    member_id: int


@pytest.fixture
def worker_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers)
    configure_logging({"PATRON_LOG_FORMAT": "json"}, stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)


async def test_failures_and_dead_letters_are_logged(
    database: Database, worker_log: io.StringIO
) -> None:
    secret = "anna.quarx@example.org"

    async def fail(session: AsyncSession, event: EventEnvelope) -> None:
        raise RuntimeError(f"the mail server refused {secret}")

    handlers = [Handler("mailer", frozenset({"*"}), fail)]
    async with database.write() as session:
        await emit(session, Pinged(member_id=7), program_id=None)
    await run_round(database, handlers, [])
    async with database.write() as session:  # the last attempt, due now
        await session.execute(
            update(OutboxHandlerRun).values(attempts=MAX_ATTEMPTS - 1, next_attempt_at=None)
        )
        await session.execute(update(OutboxEvent).values(due_at=None))
    await run_round(database, handlers, [])
    text = worker_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    failed, dead = (line for line in lines if line["logger"] == "patron.worker")
    assert (failed["event"], failed["level"], failed["handler"]) == (
        "handler_failed",
        "warning",
        "mailer",
    )
    assert failed["event_type"] == "test.pinged"
    assert failed["event_id"].startswith("evt_")
    assert failed["error"] == "builtins.RuntimeError"
    assert failed["retry_at"] is not None
    assert (dead["event"], dead["level"], dead["attempt"]) == ("dead_letter", "error", MAX_ATTEMPTS)
    assert secret not in text
