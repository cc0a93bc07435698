"""Read-only queries over purchases and returns for the returns statistics.

The cohort is the purchases of the program made in ``[date_from, date_to)``; their returns
count whenever they happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.purchases.models import Purchase, PurchaseLine, PurchaseReturn
from patron.support.models import Ticket


@dataclass(frozen=True, slots=True)
class ReturnRow:
    id: int
    purchase_id: int
    store: str | None
    amount: int
    lines: list[dict[str, Any]]


def _cohort(
    program_id: int, date_from: datetime | None, date_to: datetime | None
) -> list[ColumnElement[bool]]:
    conditions = [Purchase.program_id == program_id]
    if date_from is not None:
        conditions.append(Purchase.occurred_at >= date_from)
    if date_to is not None:
        conditions.append(Purchase.occurred_at < date_to)
    return conditions


class ReturnsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def units_by_sku(
        self, program_id: int, date_from: datetime | None, date_to: datetime | None
    ) -> list[tuple[str, int, int]]:
        """``(sku, units sold, units returned)`` per sku."""
        query = select(
            PurchaseLine.sku,
            func.sum(PurchaseLine.quantity),
            func.sum(PurchaseLine.returned_quantity),
        ).join(Purchase, Purchase.id == PurchaseLine.purchase_id)
        query = query.where(*_cohort(program_id, date_from, date_to)).group_by(PurchaseLine.sku)
        rows = (await self.session.execute(query)).all()
        return [(row[0], int(row[1]), int(row[2])) for row in rows]

    async def purchases_by_store(
        self, program_id: int, date_from: datetime | None, date_to: datetime | None
    ) -> list[tuple[str | None, int, int, int, int]]:
        """``(store, purchases, purchases with a refund, total, refunded)`` per store."""
        query = select(
            Purchase.store,
            func.count(),
            func.sum(case((Purchase.refunded > 0, 1), else_=0)),
            func.sum(Purchase.total),
            func.sum(Purchase.refunded),
        )
        query = query.where(*_cohort(program_id, date_from, date_to)).group_by(Purchase.store)
        rows = (await self.session.execute(query)).all()
        return [(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows]

    async def returns(
        self, program_id: int, date_from: datetime | None, date_to: datetime | None
    ) -> list[ReturnRow]:
        query = select(
            PurchaseReturn.id,
            PurchaseReturn.purchase_id,
            Purchase.store,
            PurchaseReturn.amount,
            PurchaseReturn.lines,
        ).join(Purchase, Purchase.id == PurchaseReturn.purchase_id)
        query = query.where(*_cohort(program_id, date_from, date_to))
        rows = (await self.session.execute(query.order_by(PurchaseReturn.id))).all()
        return [ReturnRow(*row) for row in rows]

    async def line_skus(self, purchase_ids: Sequence[int]) -> dict[tuple[int, int], str]:
        """``{(purchase_id, line_no): sku}`` of the given purchases."""
        found: dict[tuple[int, int], str] = {}
        for start in range(0, len(purchase_ids), 1000):
            chunk = purchase_ids[start : start + 1000]
            query = select(PurchaseLine.purchase_id, PurchaseLine.line_no, PurchaseLine.sku).where(
                PurchaseLine.purchase_id.in_(chunk)
            )
            for purchase_id, line_no, sku in (await self.session.execute(query)).all():
                found[(purchase_id, line_no)] = sku
        return found

    async def tickets_by_return(self, return_ids: Sequence[int]) -> dict[int, list[int]]:
        """``{return_id: [ticket ids]}`` of the given returns that have tickets."""
        found: dict[int, list[int]] = {}
        for start in range(0, len(return_ids), 1000):
            chunk = return_ids[start : start + 1000]
            query = (
                select(Ticket.return_id, Ticket.id)
                .where(Ticket.return_id.in_(chunk))
                .order_by(Ticket.id)
            )
            for return_id, ticket_id in (await self.session.execute(query)).all():
                if return_id is not None:
                    found.setdefault(return_id, []).append(ticket_id)
        return found
