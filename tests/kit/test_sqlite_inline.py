"""SQLite run in the caller's thread (kit.sqlite_inline) keeps pragmas and units of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from patron.kit.db import Database


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
