"""Purchases as the API shows them (amounts back to decimal strings)."""

from __future__ import annotations

from collections.abc import Sequence

from patron.kit.money import format_amount
from patron.purchases.models import Purchase, PurchaseLine, PurchaseReturn
from patron.purchases.schemas import BreakdownRow, PurchaseLineRead, PurchaseRead, ReturnRead


def purchase_read(purchase: Purchase, lines: Sequence[PurchaseLine]) -> PurchaseRead:
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
        lines=[
            PurchaseLineRead(
                line_no=line.line_no,
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=format_amount(line.unit_price, currency),
                amount=format_amount(line.amount, currency),
                returned_quantity=line.returned_quantity,
            )
            for line in lines
        ],
    )


def return_read(record: PurchaseReturn, currency: str) -> ReturnRead:
    return ReturnRead(
        id=record.id,
        purchase_id=record.purchase_id,
        external_id=record.external_id,
        amount=format_amount(record.amount, currency),
        points_reversed=record.points_reversed,
        occurred_at=record.occurred_at,
        reason=record.reason,
    )
