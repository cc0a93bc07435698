"""The Alembic migrations build exactly the schema the models describe (``alembic check``),
and upgrading an up-to-date database changes nothing."""

from __future__ import annotations

import asyncio

from patron.kit.db import Database
from patron.migrations import check_schema, upgrade_schema


async def test_models_and_migrations_agree(database: Database) -> None:
    await asyncio.to_thread(check_schema, database.url)


async def test_upgrade_twice_is_harmless(database: Database) -> None:
    await upgrade_schema(database.url)
    await asyncio.to_thread(check_schema, database.url)
