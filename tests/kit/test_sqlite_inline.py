"""SQLite run in the caller's thread (kit.sqlite_inline) keeps pragmas and units of work, and
waits for a lock another connection holds without blocking the event loop (issue 16)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from patron.kit.db import Database
from patron.kit.sqlite_inline import DatabaseBusyError


@pytest.fixture
async def inline(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(str(tmp_path / "inline.db"))
    async with db.write() as session:
        await session.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        await session.execute(
            text("CREATE TABLE children (id INTEGER PRIMARY KEY, "
                 "parent_id INTEGER NOT NULL REFERENCES parents (id))")
        )  # fmt: skip
    yield db
    await db.dispose()


async def insert_parent_and_orphan(inline: Database) -> None:
    async with inline.write() as session:
        await session.execute(text("INSERT INTO parents (id) VALUES (3)"))
        await session.execute(text("INSERT INTO children (parent_id) VALUES (99)"))


async def test_pragmas_match_the_kit(inline: Database) -> None:
    async with inline.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL


async def test_a_unit_of_work_commits_or_rolls_back_as_a_whole(inline: Database) -> None:
    async with inline.write() as session:
        await session.execute(text("INSERT INTO parents (id) VALUES (1), (2)"))
    with pytest.raises(IntegrityError):
        await insert_parent_and_orphan(inline)
    async with inline.read() as session:
        rows = (await session.execute(text("SELECT id FROM parents ORDER BY id"))).all()
        assert [row.id for row in rows] == [1, 2]
        assert (await session.execute(text("SELECT count(*) FROM children"))).scalar() == 0


async def test_many_rows_and_last_row_id(inline: Database) -> None:
    async with inline.write() as session:
        await session.execute(
            text("INSERT INTO parents (id) VALUES (:id)"), [{"id": i} for i in range(1, 6)]
        )
        result = await session.execute(
            text("INSERT INTO children (parent_id) VALUES (5) RETURNING id")
        )
        assert result.scalar() == 1
    async with inline.read() as session:
        assert (await session.execute(text("SELECT sum(id) FROM parents"))).scalar() == 15


class LoopWatch:
    """The longest the event loop went without running a 5 ms ticker (its stalls)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            last = now

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection (as another process would) holding SQLite's write lock."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO parents (id) VALUES (100)")
    return other


async def test_a_write_waits_for_another_connections_lock_without_blocking_the_loop(
    inline: Database, tmp_path: Path
) -> None:
    other = hold_write_lock(tmp_path / "inline.db")

    async def write() -> None:
        async with inline.write() as session:
            await session.execute(text("INSERT INTO parents (id) VALUES (7)"))

    with LoopWatch() as watch:
        writing = asyncio.create_task(write())
        ticks = 0
        for _ in range(20):  # another coroutine runs all along the wait
            await asyncio.sleep(0.02)
            ticks += 1
        assert not writing.done()  # still waiting for the lock
        other.execute("COMMIT")
        await asyncio.wait_for(writing, timeout=10)
    other.close()
    assert ticks == 20
    assert watch.longest < 0.2, watch.longest  # SQLite's busy handler froze it for the wait
    async with inline.read() as session:
        rows = (await session.execute(text("SELECT id FROM parents ORDER BY id"))).all()
        assert [row.id for row in rows] == [7, 100]


async def test_a_lock_held_past_the_busy_timeout_gives_a_clear_busy_error(tmp_path: Path) -> None:
    database = Database(str(tmp_path / "busy.db"), busy_timeout=0.5)
    async with database.write() as session:
        await session.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
    other = hold_write_lock(tmp_path / "busy.db")
    started = time.monotonic()
    try:
        with LoopWatch() as watch, pytest.raises(OperationalError) as raised:
            async with database.write() as session:
                await session.execute(text("INSERT INTO parents (id) VALUES (1)"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    waited = time.monotonic() - started
    assert isinstance(raised.value.orig, DatabaseBusyError)
    assert "more than 0.5 s" in str(raised.value.orig)
    assert 0.5 <= waited < 5
    assert watch.longest < 0.2, watch.longest
    async with database.write() as session:  # the lock gone, writes go through again
        await session.execute(text("INSERT INTO parents (id) VALUES (1)"))
    await database.dispose()


async def test_a_reader_is_not_held_up_by_another_connections_write_lock(
    inline: Database, tmp_path: Path
) -> None:
    other = hold_write_lock(tmp_path / "inline.db")
    try:
        async with inline.read() as session:  # WAL: readers see the last commit at once
            assert (await session.execute(text("SELECT count(*) FROM parents"))).scalar() == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
