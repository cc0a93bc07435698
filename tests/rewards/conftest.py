from __future__ import annotations

import pytest

from patron.kit.db import Database
from patron.programs.schemas import ActiveProgram
from tests.rewards.factories import apply_test_program


@pytest.fixture
async def active(database: Database) -> ActiveProgram:
    """The seed program plus the test rewards (LIMITED: stock 2; FREE-COFFEE), applied."""
    async with database.write() as session:
        return await apply_test_program(session)
