from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import exc, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access import service as access_service
from patron.access.models import ApiKey, Role
from patron.kit.db import Database, database_url, is_deadlock
from patron.kit.time import utcnow


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


_RAISE_DEADLOCK = text(
    "DO $$ BEGIN RAISE EXCEPTION 'chosen as victim' USING ERRCODE = '40P01'; END $$"
)


async def _key_names(database: Database) -> list[str]:
    async with database.read() as session:
        return sorted((await session.execute(select(ApiKey.name))).scalars())


async def test_a_deadlock_victim_runs_again_whole_in_a_new_transaction(
    database: Database,
) -> None:
    """PostgreSQL's ``40P01`` (raised here by PostgreSQL itself) rolls the first run back whole:
    its key is gone, and the second run's is committed."""
    if database.is_sqlite:
        pytest.skip("one writer at a time on SQLite: no deadlocks")
    runs: list[int] = []

    async def work(session: AsyncSession) -> int:
        runs.append(len(runs) + 1)
        await access_service.create_key(
            session, name=f"run-{len(runs)}", role=Role.POS, now=utcnow()
        )
        if len(runs) == 1:
            await session.execute(_RAISE_DEADLOCK)
        return len(runs)

    assert await database.write_again_on_deadlock(work) == 2
    assert runs == [1, 2]
    assert await _key_names(database) == ["run-2"]


async def test_a_deadlock_victim_runs_at_most_three_times(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("one writer at a time on SQLite: no deadlocks")
    runs: list[int] = []

    async def work(session: AsyncSession) -> None:
        runs.append(1)
        await access_service.create_key(session, name="never", role=Role.POS, now=utcnow())
        await session.execute(_RAISE_DEADLOCK)

    with pytest.raises(exc.DBAPIError) as raised:
        await database.write_again_on_deadlock(work)
    assert is_deadlock(raised.value)
    assert len(runs) == 3
    assert await _key_names(database) == []


async def test_any_other_error_is_not_run_again(database: Database) -> None:
    runs: list[int] = []

    async def work(session: AsyncSession) -> None:
        runs.append(1)
        await access_service.create_key(session, name="once", role=Role.POS, now=utcnow())
        await session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(exc.DBAPIError) as raised:
        await database.write_again_on_deadlock(work)
    assert not is_deadlock(raised.value)
    assert len(runs) == 1
    assert await _key_names(database) == []


async def test_database_errors_never_quote_their_parameters(database: Database) -> None:
    """Every engine hides its parameters (issue 16): a failed statement's message, which
    reaches logs and dead letters, names the statement but not the values sent with it."""
    from patron.kit.db import null_pool_engine

    secret = "private-person@example.org"
    one_shot = null_pool_engine(database.url)
    for engine in (database.write_engine, database.read_engine, one_shot):
        assert engine.sync_engine.hide_parameters
    await one_shot.dispose()
    with pytest.raises(exc.DBAPIError) as caught:
        async with database.write() as session:
            await session.execute(
                text("INSERT INTO no_such_table_here (email) VALUES (:email)"), {"email": secret}
            )
    assert secret not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
