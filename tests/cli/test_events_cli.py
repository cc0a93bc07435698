"""``patron worker`` and ``patron events dead|retry|stats`` on the suite's database, and a
real ``patron worker`` process stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from click.testing import Result
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import MAX_ATTEMPTS, DomainEvent, EventEnvelope, Handler, OutboxEvent, emit
from patron.kit.time import utcnow

runner = CliRunner()


class Pinged(DomainEvent):
    type: ClassVar[str] = "test.pinged"
    member_id: int


async def _patron(database: Database, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", database.url])


async def _dead_letter(database: Database) -> None:
    async def fail(session: AsyncSession, event: EventEnvelope) -> None:
        raise ValueError("endpoint down")

    handler = Handler("flaky", frozenset({"*"}), fail)
    async with database.write() as session:
        await emit(session, Pinged(member_id=3), program_id=None)
    moment = utcnow() - timedelta(days=MAX_ATTEMPTS + 1)
    for _ in range(MAX_ATTEMPTS):
        await dispatch_pending(database, [handler], now=moment)
        moment += timedelta(days=1)


async def test_worker_once_drains_the_outbox(database: Database) -> None:
    async with database.write() as session:
        for n in range(3):
            await emit(session, Pinged(member_id=n), program_id=None)
    result = await _patron(database, "worker", "--once")
    assert result.exit_code == 0, result.output
    assert "3 events" in result.stdout
    async with database.read() as session:
        left = list(await session.scalars(select(OutboxEvent.dispatched_at)))
    assert left
    assert all(at is not None for at in left)


async def test_dead_letters_listed_retried_and_counted(database: Database) -> None:
    await _dead_letter(database)
    listed = await _patron(database, "events", "dead", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["handler"], r["attempts"], r["last_error"]) for r in rows] == [
        ("flaky", MAX_ATTEMPTS, "ValueError: endpoint down")
    ]
    stats = await _patron(database, "events", "stats", "--json")
    assert json.loads(stats.stdout)["dead"] == 1
    nothing = await _patron(database, "events", "retry", "--handler", "nobody")
    assert nothing.exit_code == 1
    assert "no dead letters match" in nothing.output
    retried = await _patron(database, "events", "retry", "--event", str(rows[0]["event_id"]))
    assert retried.exit_code == 0, retried.output
    assert "1 handler run(s)" in retried.stdout
    after = await _patron(database, "events", "dead")
    assert "no dead letters" in after.stdout
    text = await _patron(database, "events", "stats")
    assert "retrying 1" in text.stdout


def test_worker_process_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "patron"), "worker", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        assert "worker running" in process.stderr.readline()
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "worker stopped" in out
