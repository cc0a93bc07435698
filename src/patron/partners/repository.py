"""The partners' queries: the ledger entries a settlement counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from patron.ledger.kinds import EntryKind
from patron.ledger.models import LedgerEntry, Lot
from patron.ledger.sources import LedgerSource

PARTNER_SOURCES = (LedgerSource.PARTNER_EARN.value, LedgerSource.PARTNER_BURN.value)


async def partner_entries(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, int, dict[str, Any]]]:
    """``(source_type, amount, meta)`` of every entry of a partner source written in
    ``[start, end)``."""
    query = select(LedgerEntry.source_type, LedgerEntry.amount, LedgerEntry.meta).where(
        LedgerEntry.source_type.in_(PARTNER_SOURCES),
        LedgerEntry.created_at >= start,
        LedgerEntry.created_at < end,
    )
    return [(row[0], int(row[1]), dict(row[2] or {})) for row in await session.execute(query)]


async def partner_reversals(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[int, dict[str, Any]]]:
    """``(amount, meta of the earning)`` of every ``reverse`` entry written in ``[start, end)``
    that took back points of a partner's purchase (its lot is a ``partner_earn`` entry's)."""
    earning = aliased(LedgerEntry)
    query = (
        select(LedgerEntry.amount, earning.meta)
        .join(Lot, Lot.id == LedgerEntry.lot_id)
        .join(earning, earning.id == Lot.entry_id)
        .where(
            LedgerEntry.kind == EntryKind.REVERSE,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            earning.source_type == LedgerSource.PARTNER_EARN.value,
        )
    )
    return [(int(row[0]), dict(row[1] or {})) for row in await session.execute(query)]
