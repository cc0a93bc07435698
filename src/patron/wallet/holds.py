"""Cashback held while its member is blocked (``wallet_holds``): a blocked member earns
nothing, so the deferred ``credit_wallet`` effect that falls due for them is recorded here
instead of credited, and credited under its own key once the block is lifted
(:mod:`patron.campaigns.wallet_holds`). A hold is written once per key (a run again of the
effect adds nothing) and released once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.wallet.models import WalletHold


async def hold(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    purchase_id: int,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    effect_index: int,
    occurred_at: datetime,
    now: datetime,
) -> None:
    """Hold the credit of ``idempotency_key`` (nothing when it is held already)."""
    row = {
        "program_id": program_id,
        "member_id": member_id,
        "purchase_id": purchase_id,
        "idempotency_key": idempotency_key,
        "source_type": source_type,
        "source_id": source_id,
        "effect_index": effect_index,
        "occurred_at": occurred_at,
        "held_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(WalletHold).values(row).on_conflict_do_nothing())


async def held(session: AsyncSession, *, member_id: int) -> list[WalletHold]:
    """The member's holds not released yet, oldest first, locked."""
    query = (
        select(WalletHold)
        .where(WalletHold.member_id == member_id, WalletHold.released_at.is_(None))
        .order_by(WalletHold.id)
        .with_for_update()
    )
    return list(await session.scalars(query))


async def release(session: AsyncSession, *, hold_id: int, now: datetime) -> None:
    await session.execute(
        update(WalletHold)
        .where(WalletHold.id == hold_id, WalletHold.released_at.is_(None))
        .values(released_at=now)
    )
