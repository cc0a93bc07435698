"""The one order in which writers of purchases lock members' accounts: no member, then by
external id in code point order (PostgreSQL's ``COLLATE "C"``), then by member id."""

from __future__ import annotations

from typing import Any

from patron.purchases.buyer import lock_order
from patron.purchases.schemas import PurchaseCreate


def _purchase(**member: Any) -> PurchaseCreate:
    return PurchaseCreate.model_validate(
        {
            "external_id": "p-1",
            "occurred_at": "2026-12-08T10:00:00Z",
            "currency": "RUB",
            "total": "1.00",
            "lines": [{"sku": "a", "category": "tea", "quantity": 1, "unit_price": "1.00"}],
            **member,
        }
    )


def test_purchases_sort_by_the_member_whose_account_they_lock() -> None:
    purchases = [
        _purchase(member_id=10),
        _purchase(member_external_id="b"),
        _purchase(member_id=9),
        _purchase(member_external_id="Z"),
        _purchase(),
        _purchase(member_external_id="ä"),
        _purchase(member_id=123456789012),
    ]
    ordered = sorted(purchases, key=lock_order)
    assert [(p.member_external_id, p.member_id) for p in ordered] == [
        (None, None),
        ("Z", None),
        ("b", None),
        ("ä", None),
        (None, 9),
        (None, 10),
        (None, 123456789012),
    ]
