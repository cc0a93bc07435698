"""Shared setup of the partner tests: the seed program (RUB, 14 pending days, returns of
spent points become debt) with two partners, and an independent reading of the ledger."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from patron.kit.db import Database
from patron.ledger.models import LedgerEntry
from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.conftest import SEED_PROGRAM

PARTNERS = """
partners:
  - id: cafe-nord
    name: Cafe Nord
    earn: {points: 2, per_amount: "10.00", price_per_point: "0.05"}
    burn: {price_per_point: "0.0375"}
  - id: kino
    name: Kino Polar
    earn: {points: 1, per_amount: "3.00", price_per_point: "0.0133"}
    burn: {price_per_point: "0.50"}
"""
# price per point in rubles, as the program above says: (issued, redeemed)
PRICES = {
    "cafe-nord": (Fraction(5, 100), Fraction(375, 10000)),
    "kino": (Fraction(133, 10000), Fraction(50, 100)),
}


async def apply(api: Api, extra: str = "") -> None:
    text = SEED_PROGRAM.read_text() + PARTNERS + extra
    response = await api.call("PUT", "/program", content=text.encode())
    assert response.status_code == 200, response.text


async def enrol(api: Api, external_id: str) -> int:
    response = await api.call("POST", "/members", "pos", json={"external_id": external_id})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _kopecks(rubles: Fraction) -> int:
    """Rubles in kopecks, half away from zero (what docs/partners.md states)."""
    exact = Decimal(rubles.numerator) * 100 / Decimal(rubles.denominator)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def ledger_figures(
    database: Database, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Each partner's points and money for ``[start, end)`` read straight from the ledger's
    rows, apart from the settlement's code: the entries whose source names the partner, and
    the ``reverse`` entries of returns of purchases at the partner (by their idempotency key,
    ``return:<purchase id>:...``), priced at the program's prices."""
    async with database.read() as session:
        entries = list(
            await session.execute(
                select(
                    LedgerEntry.source_type,
                    LedgerEntry.source_id,
                    LedgerEntry.idempotency_key,
                    LedgerEntry.amount,
                ).where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
            )
        )
        rows = await session.execute(
            select(Purchase.id, Purchase.store).where(Purchase.channel == "partner")
        )
        stores = {int(row[0]): str(row[1]) for row in rows}
    figures: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        if entry.source_type in ("partner_earn", "partner_burn"):
            partner = entry.source_id.split(":", 1)[0]
            kind = "issued" if entry.source_type == "partner_earn" else "redeemed"
            figures[partner][kind] += abs(entry.amount)
        elif entry.source_type == "return":
            purchase_id = int(entry.idempotency_key.split(":")[1])
            if purchase_id in stores:
                figures[stores[purchase_id]]["returned"] += -entry.amount
    result: dict[str, dict[str, int]] = {}
    for partner, (issue_price, burn_price) in PRICES.items():
        got = figures[partner]
        net_issued = got["issued"] - got["returned"]
        result[partner] = {
            "points_issued": got["issued"],
            "points_returned": got["returned"],
            "points_redeemed": got["redeemed"],
            "owed_by_partner": _kopecks(net_issued * issue_price),
            "owed_to_partner": _kopecks(got["redeemed"] * burn_price),
        }
    return result
