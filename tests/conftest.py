"""Shared fixtures: a real database per test session, SQLite by default or PostgreSQL when
``PATRON_TEST_DATABASE_URL`` names a server (``.ci/run`` runs the suite both ways).

Each test gets a fresh :class:`patron.kit.db.Database`; after the test every table is emptied,
so tests may commit freely (concurrency tests need real commits).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from patron.api.throttle import AUTH_ENV, LOOKUP_ENV
from patron.kit.db import Base, Database, database_url, null_pool_engine
from patron.migrations import load_all_models, upgrade_schema

# The suite sends bad keys and unknown codes from one address on purpose (the role matrix, the
# contract run, the servers it starts): the throttles are tested on their own, with their
# own limits (tests/api/test_throttle.py).
os.environ.setdefault(AUTH_ENV, "1000000")
os.environ.setdefault(LOOKUP_ENV, "1000000")

REPO = Path(__file__).resolve().parents[1]
CDNOW_DATA = REPO / "tests" / "data" / "cdnow"  # provenance: its README.md
SEED_PROGRAM = REPO / "examples" / "seed-program.yaml"

# `.ci/run` starts the PostgreSQL run beside the README's SQLite run once the latter's pytest
# has started, that is after its `pip install -e` (which reinstalls the package and could pull
# it from under a subprocess of the other run); the session start is told by this file.
SESSION_MARKER_ENV = "PATRON_CI_SESSION_MARKER"


def pytest_sessionstart(session: pytest.Session) -> None:
    marker = os.environ.get(SESSION_MARKER_ENV)
    if marker:
        Path(marker).touch()


async def _create_database(server_url: str, name: str) -> str:
    engine = null_pool_engine(server_url)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(database_url(server_url)).set(database=name).render_as_string(False)


async def _drop_database(server_url: str, name: str) -> None:
    engine = null_pool_engine(server_url)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def _build_schema(url: str) -> None:
    await upgrade_schema(url)


@pytest.fixture(scope="session")
def database_url_for_tests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    load_all_models()
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    if server:
        name = f"patron_test_{uuid.uuid4().hex[:10]}"
        url = asyncio.run(_create_database(server, name))
        asyncio.run(_build_schema(url))
        yield url
        asyncio.run(_drop_database(server, name))
    else:
        url = database_url(str(tmp_path_factory.mktemp("db") / "patron-test.db"))
        asyncio.run(_build_schema(url))
        yield url


async def _empty_all_tables(database: Database) -> None:
    tables = [table.name for table in Base.metadata.sorted_tables]
    async with database.write() as session:
        if database.is_sqlite:
            for name in reversed(tables):
                await session.execute(text(f'DELETE FROM "{name}"'))
        elif tables:
            quoted = ", ".join(f'"{name}"' for name in tables)
            await session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def database(database_url_for_tests: str) -> AsyncIterator[Database]:
    db = Database(database_url_for_tests)
    try:
        yield db
    finally:
        await _empty_all_tables(db)
        await db.dispose()


@pytest.fixture
def seed_program_path() -> Path:
    return SEED_PROGRAM
