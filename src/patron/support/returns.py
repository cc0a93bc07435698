"""Returns statistics per product (sku) and per store, linked to the tickets about them.

- per sku: ``units_sold`` and ``units_returned`` over the lines of the cohort's purchases,
  ``rate = units_returned / units_sold``; ``returns`` counts the returns that took back at
  least one unit of the sku (a return by amount names no product and counts only per store).
- per store (the purchase's store; None for purchases without one): ``purchases``,
  ``purchases_returned`` (with any refund), ``rate = purchases_returned / purchases``,
  ``returns``, and the money ``total`` and ``refunded`` as decimal strings.
- ``returns_with_ticket`` counts the returns that a ticket links to (``return_id``), and
  ``ticket_ids`` lists up to 20 of those tickets.

The cohort is the purchases made in ``[date_from, date_to)``; rates are rounded to 4 places.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.money import format_amount
from patron.programs.schemas import ActiveProgram
from patron.support.returns_repository import ReturnRow, ReturnsRepository

MAX_TICKET_IDS = 20


class ProductReturns(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    units_sold: int
    units_returned: int
    rate: float | None
    returns: int
    returns_with_ticket: int
    ticket_ids: list[int]


class StoreReturns(BaseModel):
    model_config = ConfigDict(frozen=True)

    store: str | None
    purchases: int
    purchases_returned: int
    rate: float | None
    returns: int
    returns_with_ticket: int
    ticket_ids: list[int]
    total: str
    refunded: str


class ReturnsStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    date_from: datetime | None
    date_to: datetime | None
    currency: str
    by_product: list[ProductReturns]
    by_store: list[StoreReturns]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class _Links:
    """Returns and their tickets, gathered per group key."""

    def __init__(self) -> None:
        self.returns: dict[str | None, set[int]] = defaultdict(set)
        self.tickets: dict[str | None, set[int]] = defaultdict(set)
        self.with_ticket: dict[str | None, set[int]] = defaultdict(set)

    def add(self, key: str | None, return_id: int, tickets: list[int]) -> None:
        self.returns[key].add(return_id)
        if tickets:
            self.with_ticket[key].add(return_id)
            self.tickets[key].update(tickets)

    def ticket_ids(self, key: str | None) -> list[int]:
        return sorted(self.tickets[key])[:MAX_TICKET_IDS]


def _link(
    returns: list[ReturnRow], skus: dict[tuple[int, int], str], tickets: dict[int, list[int]]
) -> tuple[_Links, _Links]:
    by_sku, by_store = _Links(), _Links()
    for row in returns:
        linked = tickets.get(row.id, [])
        by_store.add(row.store, row.id, linked)
        for line in row.lines:
            sku = skus.get((row.purchase_id, int(line.get("line_no", 0))))
            if sku is not None and int(line.get("quantity", 0)) > 0:
                by_sku.add(sku, row.id, linked)
    return by_sku, by_store


async def returns_stats(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> ReturnsStats:
    """Return counts and rates per sku and per store for the purchases in the period."""
    repository = ReturnsRepository(session)
    program_id, currency = active.program_id, active.program.currency
    returns = await repository.returns(program_id, date_from, date_to)
    skus = await repository.line_skus(sorted({row.purchase_id for row in returns}))
    tickets = await repository.tickets_by_return([row.id for row in returns])
    by_sku, by_store = _link(returns, skus, tickets)
    products = [
        ProductReturns(
            sku=sku,
            units_sold=sold,
            units_returned=returned,
            rate=_rate(returned, sold),
            returns=len(by_sku.returns[sku]),
            returns_with_ticket=len(by_sku.with_ticket[sku]),
            ticket_ids=by_sku.ticket_ids(sku),
        )
        for sku, sold, returned in await repository.units_by_sku(program_id, date_from, date_to)
    ]
    stores = [
        StoreReturns(
            store=store,
            purchases=count,
            purchases_returned=returned,
            rate=_rate(returned, count),
            returns=len(by_store.returns[store]),
            returns_with_ticket=len(by_store.with_ticket[store]),
            ticket_ids=by_store.ticket_ids(store),
            total=format_amount(total, currency),
            refunded=format_amount(refunded, currency),
        )
        for store, count, returned, total, refunded in await repository.purchases_by_store(
            program_id, date_from, date_to
        )
    ]
    products.sort(key=lambda p: (-p.units_returned, p.sku))
    stores.sort(key=lambda s: (-s.purchases_returned, s.store is None, s.store or ""))
    return ReturnsStats(
        date_from=date_from,
        date_to=date_to,
        currency=currency,
        by_product=products,
        by_store=stores,
    )
