"""``points.expired``: one event per member whose lots a catch-up wrote off.

Every write that expires lots goes through :class:`~patron.ledger.writes.CatchUpWrites`: the
daily job (:func:`patron.ledger.jobs.expire_due`) and a debit or a credit to an account in
debt, which catch the account up first. Each announces what it wrote off in its own unit of
work, so points that expired inside a redemption are announced too (the daily job then finds
nothing left to expire for them). The program of each member is read in one query (members
are a sibling domain: the ledger reads the column and imports nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import emit_many
from patron.ledger.events import PointsExpired

_PROGRAMS = text("SELECT id, program_id FROM members WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


def expired_by_member(entries: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Points written off per member (the entries' amounts are negative), in member order."""
    points: dict[int, int] = {}
    for entry in entries:
        points[entry["member_id"]] = points.get(entry["member_id"], 0) - entry["amount"]
    return dict(sorted(points.items()))


async def emit_expired(
    session: AsyncSession, entries: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Emit ``points.expired`` for the expire ``entries`` just written (nothing when none)."""
    points = expired_by_member(entries)
    if not points:
        return
    rows = await session.execute(_PROGRAMS, {"ids": list(points)})
    program_of = {int(row[0]): row[1] for row in rows}
    by_program: dict[int | None, list[PointsExpired]] = {}
    for member_id, amount in points.items():
        event = PointsExpired(member_id=member_id, points=amount)
        by_program.setdefault(program_of.get(member_id), []).append(event)
    for program_id, events in by_program.items():
        await emit_many(session, events, program_id=program_id, occurred_at=now)
