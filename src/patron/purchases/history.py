"""A member's purchase history, newest first, each with its lines and its "why N points"
breakdown (as the API shows a purchase)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.purchases.read import purchase_read
from patron.purchases.repository import PurchaseRepository
from patron.purchases.schemas import PurchaseRead

MOST_PURCHASES = 200


async def member_purchases(
    session: AsyncSession, *, member_id: int, limit: int = 20
) -> list[PurchaseRead]:
    """The member's ``limit`` (1 to 200) newest purchases."""
    if not 1 <= limit <= MOST_PURCHASES:
        raise InvalidInputError(
            f"limit must be from 1 to {MOST_PURCHASES}",
            field="limit",
            params={"min": 1, "max": MOST_PURCHASES},
        )
    repository = PurchaseRepository(session)
    purchases = await repository.of_member(member_id, limit)
    lines = await repository.lines_of([purchase.id for purchase in purchases])
    return [purchase_read(purchase, lines[purchase.id]) for purchase in purchases]
