"""All queries of the purchases domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.purchases.models import Purchase, PurchaseLine, PurchaseReturn, RuleUsage

_INSERT_PURCHASE = insert(Purchase).returning(Purchase.id)
_INSERT_LINES = insert(PurchaseLine)


class PurchaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(self, program_id: int, external_id: str) -> Purchase | None:
        query = select(Purchase).where(
            Purchase.program_id == program_id, Purchase.external_id == external_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, purchase_id: int, *, for_update: bool = False) -> Purchase | None:
        query = select(Purchase).where(Purchase.id == purchase_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add(self, purchase: Purchase, lines: Sequence[dict[str, Any]]) -> Purchase:
        """Insert the purchase with one Core statement (no ORM flush on the hot path) and its
        lines with one executemany; ``purchase`` stays a detached row object with its id."""
        values = {
            column.key: value
            for column in Purchase.__table__.columns
            if column.key != "id" and (value := getattr(purchase, column.key)) is not None
        }
        purchase.id = (await self.session.execute(_INSERT_PURCHASE, values)).scalar_one()
        if lines:
            rows = [
                {**line, "purchase_id": purchase.id, "member_id": purchase.member_id}
                for line in lines
            ]
            await self.session.execute(_INSERT_LINES, rows)
        return purchase

    async def set_earn_entry(self, purchase: Purchase, entry_id: int) -> None:
        await self.session.execute(
            update(Purchase).where(Purchase.id == purchase.id).values(earn_entry_id=entry_id)
        )
        purchase.earn_entry_id = entry_id

    async def lines(self, purchase_id: int) -> list[PurchaseLine]:
        query = select(PurchaseLine).where(PurchaseLine.purchase_id == purchase_id)
        return list((await self.session.execute(query.order_by(PurchaseLine.line_no))).scalars())

    async def record_return(
        self, purchase: Purchase, record: PurchaseReturn, returned: dict[int, int]
    ) -> PurchaseReturn:
        self.session.add(record)
        await self.session.execute(
            update(Purchase)
            .where(Purchase.id == purchase.id)
            .values(
                refunded=Purchase.refunded + record.amount,
                points_reversed=Purchase.points_reversed + record.points_reversed,
            )
        )
        for line_no, quantity in returned.items():
            await self.session.execute(
                update(PurchaseLine)
                .where(PurchaseLine.purchase_id == purchase.id, PurchaseLine.line_no == line_no)
                .values(returned_quantity=PurchaseLine.returned_quantity + quantity)
            )
        await self.session.flush()
        return record

    async def return_by_external_id(
        self, purchase_id: int, external_id: str
    ) -> PurchaseReturn | None:
        query = select(PurchaseReturn).where(
            PurchaseReturn.purchase_id == purchase_id, PurchaseReturn.external_id == external_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def returns(self, purchase_id: int) -> list[PurchaseReturn]:
        query = select(PurchaseReturn).where(PurchaseReturn.purchase_id == purchase_id)
        return list((await self.session.execute(query.order_by(PurchaseReturn.id))).scalars())

    async def money_spent(self, member_id: int, since: datetime | None) -> int:
        """Money a member spent (totals less shipping and refunds) since ``since``."""
        spent = func.coalesce(func.sum(Purchase.total - Purchase.shipping - Purchase.refunded), 0)
        query = select(spent).where(Purchase.member_id == member_id)
        if since is not None:
            query = query.where(Purchase.occurred_at >= since)
        return int((await self.session.execute(query)).scalar_one())


class RuleUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counts(self, member_id: int, keys: Iterable[tuple[str, str]]) -> dict[str, int]:
        """Usage per rule id for the given (rule id, period key) pairs."""
        pairs = list(keys)
        if not pairs:
            return {}
        query = select(RuleUsage.rule_id, RuleUsage.period_key, RuleUsage.count).where(
            RuleUsage.member_id == member_id, RuleUsage.rule_id.in_([rule for rule, _ in pairs])
        )
        wanted = set(pairs)
        return {
            rule: count
            for rule, key, count in (await self.session.execute(query)).all()
            if (rule, key) in wanted
        }

    async def increment(self, member_id: int, rule_id: str, period_key: str) -> None:
        """``count = count + 1``, creating the row at 1 (caller holds the account lock)."""
        result = await self.session.execute(
            update(RuleUsage)
            .where(
                RuleUsage.member_id == member_id,
                RuleUsage.rule_id == rule_id,
                RuleUsage.period_key == period_key,
            )
            .values(count=RuleUsage.count + 1)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            self.session.add(
                RuleUsage(member_id=member_id, rule_id=rule_id, period_key=period_key, count=1)
            )
            await self.session.flush()
