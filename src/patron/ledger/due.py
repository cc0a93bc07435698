"""The queries of the ledger's daily jobs (:mod:`patron.ledger.jobs`): the accounts with
lots due to activate or expire, walked in id order, locked in that order, and their due lots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from patron.kit.db import UTCDateTime
from patron.ledger.lots import LotState
from patron.ledger.models import accounts, lots
from patron.ledger.repository import LockedAccount

_LOCK_MANY = (
    select(accounts.c.id, accounts.c.member_id, accounts.c.debt)
    .where(accounts.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(accounts.c.id)
    .with_for_update()
)

_LOT_COLUMNS = (
    lots.c.id,
    lots.c.remaining,
    lots.c.created_at,
    lots.c.pending_until,
    lots.c.expires_at,
    lots.c.is_active,
    lots.c.is_expired,
)
_NOW: BindParameter[datetime] = bindparam("now", type_=UTCDateTime())
_IS_DUE_TO_ACTIVATE = and_(~lots.c.is_active, lots.c.pending_until <= _NOW)
_IS_DUE = and_(
    lots.c.remaining > 0,
    ~lots.c.is_expired,
    or_(_IS_DUE_TO_ACTIVATE, lots.c.expires_at <= _NOW),
)


class DueLotsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def accounts_with_due_lots(
        self, now: datetime, *, expiring: bool, after: int, limit: int
    ) -> list[int]:
        """Ids of accounts (above ``after``, ascending) with lots due to activate, or with
        points due to expire when ``expiring``."""
        if expiring:
            due = and_(lots.c.remaining > 0, ~lots.c.is_expired, lots.c.expires_at <= now)
        else:
            due = and_(~lots.c.is_active, lots.c.pending_until <= now)
        statement = (
            select(lots.c.account_id)
            .where(due, lots.c.account_id > after)
            .group_by(lots.c.account_id)
            .order_by(lots.c.account_id)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())

    async def lock_accounts(self, account_ids: Sequence[int]) -> list[LockedAccount]:
        """Lock many accounts, in id order so that two jobs cannot deadlock."""
        result = await self.session.execute(_LOCK_MANY, {"ids": list(account_ids)})
        return [LockedAccount(row.id, row.member_id, row.debt) for row in result]

    async def lots_of_accounts(
        self, account_ids: Sequence[int], now: datetime, *, expiring: bool
    ) -> dict[int, list[LotState]]:
        """Per account: its due lots (``expiring``) or its lots due to activate."""
        due = _IS_DUE if expiring else _IS_DUE_TO_ACTIVATE
        statement = select(lots.c.account_id, *_LOT_COLUMNS).where(
            lots.c.account_id.in_(account_ids), due
        )
        found: dict[int, list[LotState]] = defaultdict(list)
        for row in await self.session.execute(statement, {"now": now}):
            found[row[0]].append(LotState(row[1], row[2], row[3], row[4], row[5], row[6], row[7]))
        return found
