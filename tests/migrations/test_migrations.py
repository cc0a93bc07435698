"""The Alembic migrations build exactly the schema the models describe (``alembic check``),
upgrading an up-to-date database changes nothing, and the up-to-date check that spares every
command Alembic's start-up agrees with Alembic."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from patron.kit.db import Database, database_url, null_pool_engine
from patron.migrations import (
    HEAD_REVISION,
    alembic_config,
    check_schema,
    schema_revision,
    upgrade_schema,
)
from tests.conftest import _create_database, _drop_database

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_models_and_migrations_agree(database: Database) -> None:
    await asyncio.to_thread(check_schema, database.url)


async def test_upgrade_twice_is_harmless(database: Database) -> None:
    await upgrade_schema(database.url)
    await asyncio.to_thread(check_schema, database.url)


def test_head_revision_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_current_head() == HEAD_REVISION


async def test_the_test_database_is_at_the_head(database: Database) -> None:
    assert await schema_revision(database.url) == HEAD_REVISION


@pytest.fixture
async def fresh_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the suite's kind of its own."""
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    if not server:
        yield database_url(str(tmp_path / "fresh.db"))
        return
    name = f"patron_fresh_{uuid.uuid4().hex[:10]}"
    url = await _create_database(server, name)
    try:
        yield url
    finally:
        await _drop_database(server, name)


async def test_an_empty_database_has_no_revision_and_gets_the_schema(fresh_url: str) -> None:
    assert await schema_revision(fresh_url) is None
    await upgrade_schema(fresh_url)
    assert await schema_revision(fresh_url) == HEAD_REVISION
    await asyncio.to_thread(check_schema, fresh_url)


async def test_an_older_database_is_upgraded(fresh_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(fresh_url), "0005")
    assert await schema_revision(fresh_url) == "0005"
    await upgrade_schema(fresh_url)
    assert await schema_revision(fresh_url) == HEAD_REVISION
    await asyncio.to_thread(check_schema, fresh_url)


async def test_a_database_with_a_stray_version_table_goes_to_alembic(fresh_url: str) -> None:
    """An empty ``alembic_version`` (or any revision but the head) is Alembic's to judge."""
    engine = null_pool_engine(fresh_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
    await engine.dispose()
    assert await schema_revision(fresh_url) is None
    await upgrade_schema(fresh_url)
    assert await schema_revision(fresh_url) == HEAD_REVISION


async def test_contacts_stored_with_a_trailing_newline_lose_it(fresh_url: str) -> None:
    """Migration 0040: what the validators let through before 2026-12-07."""
    await asyncio.to_thread(command.upgrade, alembic_config(fresh_url), "0039")
    engine = null_pool_engine(fresh_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO programs (id, key, name, created_at) VALUES (1, 'p', 'P', :now)"),
            {"now": NOW},
        )
        for number, (email, phone) in enumerate(
            [
                ("anna@example.org\n", "+48601234567\n"),
                ("ivan@example.org", "+48601234568"),
                (None, None),
                ("olga\n@example.org", "+4860123\n4569"),  # not a trailing newline: kept
            ],
            start=1,
        ):
            await connection.execute(
                text(
                    "INSERT INTO members (id, program_id, external_id, email, phone, "
                    "attributes, status, referral_code, enrolment_checksum, enrolled_at, "
                    "updated_at) VALUES (:id, 1, :external, :email, :phone, '{}', 'active', "
                    ":code, 'x', :now, :now)"
                ),
                {
                    "id": number,
                    "external": f"m-{number}",
                    "email": email,
                    "phone": phone,
                    "code": f"CODE{number}",
                    "now": NOW,
                },
            )
    await upgrade_schema(fresh_url)
    async with engine.connect() as connection:
        found = await connection.execute(text("SELECT email, phone FROM members ORDER BY id"))
        rows = found.all()
    await engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("anna@example.org", "+48601234567"),
        ("ivan@example.org", "+48601234568"),
        (None, None),
        ("olga\n@example.org", "+4860123\n4569"),
    ]
