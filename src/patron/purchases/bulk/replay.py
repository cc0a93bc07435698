"""The per-event path of the import: purchases recorded one by one by ``record_purchase``.

Used for the members the vectorised path cannot make exact (an account in debt, no account,
tiers that do not settle) and for a whole batch the vectorised scorer refuses (amounts too
large for exact column arithmetic). Each purchase runs in a savepoint, so that a refused
one (its error code is reported) leaves the rest of the batch intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import PatronError
from patron.programs.schemas import ActiveProgram
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate


@dataclass(frozen=True, slots=True)
class Refusal:
    seq: int
    code: str
    message: str
    field: str | None


@dataclass(slots=True)
class Replayed:
    loaded: int = 0
    points: int = 0
    refused: list[Refusal] = field(default_factory=list)


def purchase_create(purchase: dict[str, Any], lines: list[dict[str, Any]]) -> PurchaseCreate:
    """The API body of an imported purchase (its fingerprint is the import's)."""
    return PurchaseCreate(
        external_id=purchase["external_id"],
        member_external_id=purchase["member_external_id"],
        occurred_at=purchase["at"],
        currency=purchase["currency"],
        total=purchase["total"],
        shipping=purchase["shipping"],
        lines=[
            PurchaseLineCreate(
                sku=line["sku"],
                category=line["category"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount=line.get("discount"),
            )
            for line in lines
        ],
        channel=purchase["channel"],
        store=purchase["store"],
    )


async def _record_one(
    session: AsyncSession, active: ActiveProgram, data: PurchaseCreate, now: datetime
) -> int:
    async with session.begin_nested():
        recorded = await record_purchase(
            session, active=active, data=data, now=now, campaigns=False
        )
    return recorded.purchase.points_earned if recorded.created else 0


async def replay(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    now: datetime,
) -> Replayed:
    """Record ``purchases`` (``seq`` order, the import's columns) with their ``lines``."""
    result = Replayed()
    if not purchases.height:
        return result
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for line in lines.filter(pl.col("seq").is_in(purchases["seq"].to_list())).iter_rows(named=True):
        by_seq.setdefault(line["seq"], []).append(line)
    for purchase in purchases.iter_rows(named=True):
        seq = purchase["seq"]
        try:
            data = purchase_create(purchase, by_seq[seq])
            result.points += await _record_one(session, active, data, now)
        except PatronError as error:
            result.refused.append(Refusal(seq, error.code, error.message, error.field))
            continue
        except ValidationError as error:
            result.refused.append(Refusal(seq, "invalid_input", str(error), None))
            continue
        result.loaded += 1
    return result
