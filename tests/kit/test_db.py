from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from patron.kit.db import Database, database_url


def test_bare_path_means_sqlite() -> None:
    assert database_url("x/patron.db") == "sqlite+aiosqlite:///x/patron.db"


def test_postgres_gets_asyncpg() -> None:
    assert database_url("postgresql://u:p@h:5/d") == "postgresql+asyncpg://u:p@h:5/d"


def test_environment_default(monkeypatch: object) -> None:
    import os

    old = os.environ.pop("PATRON_DATABASE_URL", None)
    try:
        assert database_url(None) == "sqlite+aiosqlite:///patron.db"
    finally:
        if old is not None:
            os.environ["PATRON_DATABASE_URL"] = old


async def test_write_commits_and_read_sees_it(database: Database) -> None:
    async with database.read() as session:
        now = (await session.execute(text("SELECT 1"))).scalar_one()
    assert now == 1
    assert datetime.now(UTC).tzinfo is UTC
