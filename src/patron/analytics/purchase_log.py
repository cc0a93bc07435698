"""The members' purchase log as a Polars frame, read-only from the transactional tables."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.money import exponent
from patron.purchases.models import Purchase

BATCH = 100_000


async def member_purchase_log(session: AsyncSession) -> pl.DataFrame:
    """Columns ``customer_id`` (member id), ``purchased_at`` (UTC) and ``amount`` (money paid
    for goods, net of shipping and refunds, in major units of the purchase currency)."""
    query = (
        select(
            Purchase.member_id,
            Purchase.occurred_at,
            Purchase.total - Purchase.shipping - Purchase.refunded,
            Purchase.currency,
        )
        .where(Purchase.member_id.is_not(None))
        .order_by(Purchase.id)
    )
    ids: list[int] = []
    times = []
    amounts: list[float] = []
    result = await session.stream(query.execution_options(yield_per=BATCH))
    async for member_id, occurred_at, net, currency in result:
        assert member_id is not None  # filtered in the query
        ids.append(member_id)
        times.append(occurred_at)
        amounts.append(net / 10 ** exponent(currency))
    return pl.DataFrame(
        {"customer_id": ids, "purchased_at": times, "amount": amounts},
        schema={
            "customer_id": pl.Int64,
            "purchased_at": pl.Datetime("us", "UTC"),
            "amount": pl.Float64,
        },
    )
