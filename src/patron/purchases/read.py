"""Purchases as the API shows them (amounts back to decimal strings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from patron.kit.money import format_amount
from patron.purchases.models import PurchaseReturn
from patron.purchases.schemas import BreakdownRow, PurchaseLineRead, PurchaseRead, ReturnRead


class PurchaseLike(Protocol):
    """A stored purchase: the ORM row, or :class:`PurchaseRow` as the hot path wrote it."""

    @property
    def id(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    @property
    def member_id(self) -> int | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def currency(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def shipping(self) -> int: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def store(self) -> str | None: ...
    @property
    def program_version(self) -> int: ...
    @property
    def points_earned(self) -> int: ...
    @property
    def points_reversed(self) -> int: ...
    @property
    def refunded(self) -> int: ...
    @property
    def pending_until(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime | None: ...
    @property
    def breakdown(self) -> list[dict[str, Any]]: ...
    @property
    def wallet_paid(self) -> int: ...


class LineLike(Protocol):
    @property
    def line_no(self) -> int: ...
    @property
    def sku(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> int: ...
    @property
    def amount(self) -> int: ...
    @property
    def discount(self) -> int: ...
    @property
    def order_discount(self) -> int: ...
    @property
    def returned_quantity(self) -> int: ...


@dataclass(frozen=True, slots=True)
class PurchaseRow:
    id: int
    external_id: str
    member_id: int | None
    occurred_at: datetime
    currency: str
    total: int
    shipping: int
    channel: str | None
    store: str | None
    program_version: int
    points_earned: int
    points_reversed: int
    refunded: int
    pending_until: datetime | None
    expires_at: datetime | None
    breakdown: list[dict[str, Any]]
    wallet_paid: int = 0


@dataclass(frozen=True, slots=True)
class LineRow:
    line_no: int
    sku: str
    category: str | None
    quantity: int
    unit_price: int
    amount: int
    discount: int = 0
    order_discount: int = 0
    returned_quantity: int = 0

    def stored(self) -> tuple[int, str, str | None, int, int, int, int, int]:
        """The row's values in the order of ``repository.LINE_COLUMNS``."""
        return (
            self.line_no,
            self.sku,
            self.category,
            self.quantity,
            self.unit_price,
            self.amount,
            self.discount,
            self.order_discount,
        )


def purchase_read(purchase: PurchaseLike, lines: Sequence[LineLike]) -> PurchaseRead:
    currency = purchase.currency
    return PurchaseRead(
        id=purchase.id,
        external_id=purchase.external_id,
        member_id=purchase.member_id,
        occurred_at=purchase.occurred_at,
        currency=currency,
        total=format_amount(purchase.total, currency),
        shipping=format_amount(purchase.shipping, currency),
        channel=purchase.channel,
        store=purchase.store,
        program_version=purchase.program_version,
        points_earned=purchase.points_earned,
        points_reversed=purchase.points_reversed,
        refunded=format_amount(purchase.refunded, currency),
        pending_until=purchase.pending_until,
        expires_at=purchase.expires_at,
        breakdown=[BreakdownRow.model_validate(row) for row in purchase.breakdown],
        standing_discount=_standing_discount(purchase.breakdown, currency),
        lines=[
            PurchaseLineRead(
                line_no=line.line_no,
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=format_amount(line.unit_price, currency),
                amount=format_amount(line.amount, currency),
                discount=format_amount(line.discount, currency),
                paid=format_amount(line.amount - line.discount - line.order_discount, currency),
                returned_quantity=line.returned_quantity,
            )
            for line in lines
        ],
        wallet_paid=format_amount(purchase.wallet_paid, currency),
    )


def _standing_discount(breakdown: Sequence[dict[str, Any]], currency: str) -> str:
    """The amount of the purchase's standing discount row, ``0`` in the currency without one."""
    for row in breakdown:
        if row.get("amount") is not None and str(row["rule_id"]).startswith("discount:"):
            return str(row["amount"])
    return format_amount(0, currency)


def return_read(record: PurchaseReturn, currency: str) -> ReturnRead:
    return ReturnRead(
        id=record.id,
        purchase_id=record.purchase_id,
        external_id=record.external_id,
        amount=format_amount(record.amount, currency),
        points_reversed=record.points_reversed,
        wallet_refunded=format_amount(record.wallet_refunded or 0, currency),
        occurred_at=record.occurred_at,
        reason=record.reason,
    )
