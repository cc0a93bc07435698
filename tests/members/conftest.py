from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patron.kit.db import Database
from patron.programs.service import apply_program
from tests.conftest import SEED_PROGRAM

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def make_program(database: Database, key: str) -> int:
    async with database.write() as session:
        applied = await apply_program(
            session, text=SEED_PROGRAM.read_text(), key=key, created_by="tests", now=NOW
        )
    return applied.program_id


@pytest.fixture
async def program_id(database: Database) -> int:
    return await make_program(database, "default")
