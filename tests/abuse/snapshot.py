"""What a refused action must leave alone: every row of every table, read back whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from patron.kit.db import Base, Database

# written by the request's edge whatever the answer: the key's last use, the throttle
_EDGE = frozenset({"api_keys"})


async def snapshot(database: Database, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every table's rows (sorted, as tuples of strings), but ``skip`` and the edge's."""
    found: dict[str, Any] = {}
    async with database.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in _EDGE | skip:
                continue
            rows = (await session.execute(select(table))).all()
            found[table.name] = sorted(tuple(map(str, row)) for row in rows)
    return found


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before if before[name] != after.get(name))
