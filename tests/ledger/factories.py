"""Helpers that write ledger data through the real services, and read it back as plain rows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger import service
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.models import entries, lots, movements
from patron.ledger.schemas import Balance, Entry

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
_keys = itertools.count(1)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def new_key(prefix: str = "test") -> str:
    return f"{prefix}:{next(_keys)}"


async def earn(
    session: AsyncSession,
    member_id: int,
    amount: int,
    *,
    now: datetime = T0,
    pending_until: datetime | None = None,
    expires_at: datetime | None = None,
    kind: EntryKind = EntryKind.EARN,
    key: str | None = None,
) -> Entry:
    return await service.credit(
        session,
        member_id=member_id,
        amount=amount,
        kind=kind,
        idempotency_key=key or new_key("earn"),
        source_type="purchase",
        source_id=f"P-{amount}",
        now=now,
        pending_until=pending_until,
        expires_at=expires_at,
    )


async def spend(
    session: AsyncSession,
    member_id: int,
    amount: int,
    *,
    now: datetime = T0,
    policy: ShortfallPolicy = ShortfallPolicy.REFUSE,
    kind: EntryKind = EntryKind.REDEEM,
    key: str | None = None,
) -> Entry:
    return await service.debit(
        session,
        member_id=member_id,
        amount=amount,
        kind=kind,
        idempotency_key=key or new_key("spend"),
        source_type="reward",
        source_id="R-1",
        now=now,
        on_shortfall=policy,
    )


async def figures(session: AsyncSession, member_id: int, now: datetime) -> tuple[int, ...]:
    """(available, pending, lifetime_earned, redeemed, expired, debt) as of ``now``."""
    current: Balance = await service.balance(session, member_id=member_id, now=now)
    return (
        current.available,
        current.pending,
        current.lifetime_earned,
        current.redeemed,
        current.expired,
        current.debt,
    )


async def lot_rows(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    statement = select(lots).where(lots.c.member_id == member_id).order_by(lots.c.id)
    return [dict(row._mapping) for row in await session.execute(statement)]


async def remaining_by_lot(session: AsyncSession, member_id: int) -> dict[int, int]:
    return {row["id"]: row["remaining"] for row in await lot_rows(session, member_id)}


async def lot_of(session: AsyncSession, entry: Entry) -> int:
    statement = select(lots.c.id).where(lots.c.entry_id == entry.id)
    lot_id: int = (await session.execute(statement)).scalar_one()
    return lot_id


async def movement_rows(session: AsyncSession, entry_id: int) -> list[tuple[int, str, int]]:
    """(lot_id, reason, amount) of an entry's lot movements, by lot id."""
    statement = (
        select(movements.c.lot_id, movements.c.reason, movements.c.amount)
        .where(movements.c.entry_id == entry_id)
        .order_by(movements.c.id)
    )
    return [(row[0], str(row[1]), row[2]) for row in await session.execute(statement)]


async def entry_summary(session: AsyncSession, member_id: int) -> list[tuple[str, int]]:
    """(kind, amount) of the member's entries in the order they were written."""
    statement = (
        select(entries.c.kind, entries.c.amount)
        .where(entries.c.member_id == member_id)
        .order_by(entries.c.id)
    )
    return [(str(row[0]), row[1]) for row in await session.execute(statement)]


async def count_rows(session: AsyncSession, table: Any) -> int:
    total: int = (await session.execute(select(func.count()).select_from(table))).scalar_one()
    return total
