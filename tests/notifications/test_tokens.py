"""The unsubscribe links' signing key: made on first use, read once a unit of work when it
was there already, and never kept in memory when a savepoint that made it was rolled back."""

from __future__ import annotations

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.notifications import tokens


async def test_a_key_made_in_a_rolled_back_savepoint_is_made_again(database: Database) -> None:
    now = utcnow()
    async with database.write() as session:
        savepoint = await session.begin_nested()
        first = await tokens.signing_key(session, now)
        assert await tokens.signing_key(session, now) == first  # read back, not remembered
        await savepoint.rollback()
        made = await tokens.signing_key(session, now)
    async with database.read() as session:
        assert await tokens.existing_key(session) == made
    assert made != first


async def test_a_committed_key_is_the_one_every_unit_of_work_signs_with(
    database: Database,
) -> None:
    now = utcnow()
    async with database.write() as session:
        made = await tokens.signing_key(session, now)
    async with database.write() as session:
        assert await tokens.signing_key(session, now) == made
        assert await tokens.signing_key(session, now) == made
    token = tokens.make_token(made, 7, "email")
    assert tokens.read_token(made, token) == (7, "email")
    assert tokens.read_token(made, token + "\n") is None
