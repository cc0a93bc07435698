"""Recording many purchases in one unit of work.

Each purchase runs inside its own savepoint: one that fails (a bad amount, an unknown member,
an idempotency conflict) is rolled back alone and reported with the error it would have had on
its own, while the others are kept. One commit for the whole batch amortises the HTTP request
and the commit over all purchases. Retrying a batch is safe: purchases already recorded answer
200 with their first result.

Locks: the members' accounts stay locked until the batch commits, so the batch locks all of
them first, in the order every writer of purchases uses
(:func:`~patron.purchases.buyer.lock_order`): two batches, or a batch and a commit group of
single purchases, over the same members then never wait on each other in a cycle. The
purchases themselves run in the batch's order.

Pace: on SQLite a batch runs in the event loop's thread, so it yields to the loop between
purchases every few milliseconds (:class:`~patron.kit.pace.Pace`): other requests are
answered while it runs (issue 16).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import PatronError
from patron.kit.pace import Pace
from patron.programs.schemas import ActiveProgram
from patron.purchases.earn import record_purchase
from patron.purchases.repository import lock_members_in_order
from patron.purchases.schemas import (
    BatchError,
    PurchaseBatchCreate,
    PurchaseBatchItem,
    PurchaseBatchResult,
    PurchaseCreate,
)

Admission = Callable[[PurchaseCreate], Awaitable[None]]
"""A check of the caller's right to record one purchase (the API's till identity): it raises
the purchase's error, which the purchase then answers alone."""


async def record_purchases(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    data: PurchaseBatchCreate,
    now: datetime,
    admit: Admission | None = None,
) -> PurchaseBatchResult:
    await lock_members_in_order(
        session,
        active.program_id,
        external_ids=(
            purchase.member_external_id
            for purchase in data.purchases
            if purchase.member_id is None and purchase.member_external_id is not None
        ),
        member_ids=(
            purchase.member_id for purchase in data.purchases if purchase.member_id is not None
        ),
    )
    results: list[PurchaseBatchItem] = []
    pace = Pace()
    for index, purchase in enumerate(data.purchases):
        await pace.step()
        try:
            if admit is not None:
                await admit(purchase)
            async with session.begin_nested():
                recorded = await record_purchase(session, active=active, data=purchase, now=now)
        except PatronError as error:
            results.append(
                PurchaseBatchItem(
                    index=index,
                    status=error.status,
                    error=BatchError.model_validate(error.body()),
                )
            )
            continue
        status = 201 if recorded.created else 200
        results.append(PurchaseBatchItem(index=index, status=status, purchase=recorded.purchase))
    return PurchaseBatchResult(results=results)
