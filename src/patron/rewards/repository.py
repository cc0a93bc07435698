"""Every query of the rewards domain (Core statements, built once at import).

Locks: redemptions and cancellations run under the member's account lock (taken by the
service through the ledger); here the stock counter and a coupon's status move only by
atomic conditional updates, so two writers can never both take the last item or both use one
coupon.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from patron.members.models import Member, MemberStatus
from patron.rewards.models import CouponStatus, coupons, reward_stocks
from patron.rewards.schemas import CouponView

_VIEW_COLUMNS = [coupons.c[name] for name in CouponView.model_fields]
_ROW_COLUMNS = [coupons.c.id, *_VIEW_COLUMNS]

# Bound parameters of UPDATEs must not be named after a column (SQLAlchemy reserves those).
_STOCK_KEY = and_(
    reward_stocks.c.program_id == bindparam("b_program_id"),
    reward_stocks.c.reward_code == bindparam("b_reward_code"),
)
_ISSUED = select(reward_stocks.c.reward_code, reward_stocks.c.issued).where(
    reward_stocks.c.program_id == bindparam("program_id")
)
_NEW_STOCK_ROW = {
    name: dialect.insert(reward_stocks).on_conflict_do_nothing(
        index_elements=[reward_stocks.c.program_id, reward_stocks.c.reward_code]
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_TAKE_STOCK = (
    update(reward_stocks)
    .where(_STOCK_KEY, reward_stocks.c.issued < bindparam("stock"))
    .values(issued=reward_stocks.c.issued + 1)
)
_RETURN_STOCK = (
    update(reward_stocks)
    .where(_STOCK_KEY, reward_stocks.c.issued > 0)
    .values(issued=reward_stocks.c.issued - 1)
)
_INSERT_COUPON = {
    name: dialect.insert(coupons)
    .on_conflict_do_nothing(index_elements=[coupons.c.code])
    .returning(*_ROW_COLUMNS)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_USAGE = (
    select(coupons.c.reward_code, coupons.c.status, func.count().label("coupons"))
    .where(coupons.c.program_id == bindparam("program_id"))
    .group_by(coupons.c.reward_code, coupons.c.status)
)
_BY_CODE = select(*_ROW_COLUMNS).where(coupons.c.code == bindparam("code"))
_BY_KEY = select(*_ROW_COLUMNS).where(coupons.c.idempotency_key == bindparam("key"))
_NOW: BindParameter[datetime] = bindparam("now")
_IS_USABLE = and_(
    coupons.c.code == bindparam("b_code"),
    coupons.c.status == CouponStatus.ACTIVE,
    or_(coupons.c.valid_until.is_(None), coupons.c.valid_until > _NOW),
)
# a blocked member spends nothing: their coupons are not consumed (``member_blocked``)
_OWNER_ACTIVE = (
    exists().where(Member.id == coupons.c.member_id, Member.status == MemberStatus.ACTIVE)
).correlate(coupons)
_SET_REDEEM_ENTRY = (
    update(coupons)
    .where(coupons.c.id == bindparam("coupon_id"))
    .values(redeem_entry_id=bindparam("entry_id"))
)
_SET_REFUND_ENTRY = (
    update(coupons)
    .where(coupons.c.id == bindparam("coupon_id"))
    .values(refund_entry_id=bindparam("entry_id"))
)


class RewardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    async def issued(self, program_id: int) -> dict[str, int]:
        """Coupons out per stocked reward of the program (rewards never redeemed are absent)."""
        result = await self.session.execute(_ISSUED, {"program_id": program_id})
        return {row.reward_code: row.issued for row in result}

    async def usage(self, program_id: int) -> dict[str, dict[str, int]]:
        """Coupons per reward code and status (rewards never redeemed are absent)."""
        found: dict[str, dict[str, int]] = {}
        for row in await self.session.execute(_USAGE, {"program_id": program_id}):
            status = CouponStatus(row.status).value
            found.setdefault(row.reward_code, {})[status] = int(row.coupons)
        return found

    async def take_stock(self, program_id: int, reward_code: str, stock: int) -> bool:
        """Count one more coupon out if fewer than ``stock`` are; False when none is left.

        The row is created on first use; the conditional ``issued = issued + 1 WHERE issued <
        :stock`` holds the row lock on PostgreSQL until the unit of work ends.
        """
        values = {"program_id": program_id, "reward_code": reward_code, "issued": 0}
        await self.session.execute(_NEW_STOCK_ROW[self.dialect], values)
        key = {"b_program_id": program_id, "b_reward_code": reward_code, "stock": stock}
        result = await self.session.execute(_TAKE_STOCK, key)
        return _rowcount(result) == 1

    async def return_stock(self, program_id: int, reward_code: str) -> None:
        key = {"b_program_id": program_id, "b_reward_code": reward_code}
        await self.session.execute(_RETURN_STOCK, key)

    async def insert_coupon(self, values: dict[str, Any]) -> Row[Any] | None:
        """Insert a coupon; None when its code is taken (draw another). A taken idempotency
        key raises :class:`~sqlalchemy.exc.IntegrityError`."""
        result = await self.session.execute(_INSERT_COUPON[self.dialect], values)
        return result.first()

    async def by_code(self, code: str) -> Row[Any] | None:
        return (await self.session.execute(_BY_CODE, {"code": code})).first()

    async def by_idempotency_key(self, key: str) -> Row[Any] | None:
        return (await self.session.execute(_BY_KEY, {"key": key})).first()

    async def set_redeem_entry(self, coupon_id: int, entry_id: int) -> None:
        await self.session.execute(
            _SET_REDEEM_ENTRY, {"coupon_id": coupon_id, "entry_id": entry_id}
        )

    async def set_refund_entry(self, coupon_id: int, entry_id: int) -> None:
        await self.session.execute(
            _SET_REFUND_ENTRY, {"coupon_id": coupon_id, "entry_id": entry_id}
        )

    async def consume(
        self, code: str, *, now: datetime, ref: str | None, member_id: int | None
    ) -> Row[Any] | None:
        """Mark an active, unexpired coupon of an active (not blocked) member consumed (of
        ``member_id`` when given); the row after the change, or None when the coupon or its
        member was not in that state."""
        condition = and_(_IS_USABLE, _OWNER_ACTIVE)
        if member_id is not None:
            condition = and_(condition, coupons.c.member_id == member_id)
        statement = (
            update(coupons)
            .where(condition)
            .values(status=CouponStatus.CONSUMED, consumed_at=_NOW, consumed_ref=ref)
            .returning(*_ROW_COLUMNS)
        )
        return (await self.session.execute(statement, {"b_code": code, "now": now})).first()

    async def member_blocked(self, member_id: int) -> bool:
        """Whether the member is blocked."""
        status = await self.session.scalar(select(Member.status).where(Member.id == member_id))
        return status is MemberStatus.BLOCKED

    async def cancel(self, code: str, *, now: datetime) -> Row[Any] | None:
        """Mark an active, unexpired coupon cancelled; None when it was not in that state."""
        statement = (
            update(coupons)
            .where(_IS_USABLE)
            .values(status=CouponStatus.CANCELLED, cancelled_at=_NOW)
            .returning(*_ROW_COLUMNS)
        )
        return (await self.session.execute(statement, {"b_code": code, "now": now})).first()

    async def member_coupons(
        self, member_id: int, status: CouponStatus | None, limit: int
    ) -> Sequence[Row[Any]]:
        """The member's coupons, newest first."""
        statement = select(*_ROW_COLUMNS).where(coupons.c.member_id == member_id)
        if status is not None:
            statement = statement.where(coupons.c.status == status)
        statement = statement.order_by(coupons.c.id.desc()).limit(limit)
        return (await self.session.execute(statement)).all()


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def coupon_view(row: Row[Any]) -> CouponView:
    return CouponView.model_validate(row._mapping)
