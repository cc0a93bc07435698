"""All queries of the segments domain: the purchase history it reads, and its own table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.purchases.models import Purchase, PurchaseLine
from patron.segments.churn import PREVIOUS_SCHEMA
from patron.segments.groups import LINE_SCHEMA
from patron.segments.models import MemberSegment
from patron.segments.rfm import PURCHASE_SCHEMA
from patron.segments.schemas import SegmentGroup

BATCH = 100_000
_GROUP_COLUMNS = {
    SegmentGroup.HIGH_VALUE: MemberSegment.is_high_value,
    SegmentGroup.REGULAR: MemberSegment.is_regular,
    SegmentGroup.CATEGORY_LOVER: MemberSegment.is_category_lover,
    SegmentGroup.AT_RISK: MemberSegment.is_at_risk,
}


def segment_member_ids(program_id: int, segment: str) -> Select[Any]:
    """The ids of the program's members stored in RFM ``segment`` (a subquery)."""
    return select(MemberSegment.member_id).where(
        MemberSegment.program_id == program_id, MemberSegment.rfm_segment == segment
    )


class SegmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def purchases(self, program_id: int, *, as_of: datetime) -> pl.DataFrame:
        """The program's members' purchases up to ``as_of``: ``member_id``, ``occurred_at``
        and ``total`` = money for goods (total less shipping and refunds), minor units."""
        query = (
            select(
                Purchase.member_id,
                Purchase.occurred_at,
                Purchase.total - Purchase.shipping - Purchase.refunded,
            )
            .where(
                Purchase.program_id == program_id,
                Purchase.member_id.is_not(None),
                Purchase.occurred_at <= as_of,
            )
            .order_by(Purchase.id)
        )
        rows = await self._stream(query)
        return pl.DataFrame(rows, schema=PURCHASE_SCHEMA, orient="row")

    async def line_spend(self, program_id: int, *, as_of: datetime) -> pl.DataFrame:
        """Per member and category (None for lines without one): the net spend of the
        purchase lines up to ``as_of``, unit price x (quantity - returned quantity)."""
        spend = func.sum(
            PurchaseLine.unit_price * (PurchaseLine.quantity - PurchaseLine.returned_quantity)
        )
        query = (
            select(Purchase.member_id, PurchaseLine.category, spend)
            .join_from(PurchaseLine, Purchase, Purchase.id == PurchaseLine.purchase_id)
            .where(
                Purchase.program_id == program_id,
                Purchase.member_id.is_not(None),
                Purchase.occurred_at <= as_of,
            )
            .group_by(Purchase.member_id, PurchaseLine.category)
            .order_by(Purchase.member_id, PurchaseLine.category)
        )
        rows = [
            (member, category, int(amount))
            for member, category, amount in await self._stream(query)
        ]
        return pl.DataFrame(rows, schema=LINE_SCHEMA, orient="row")

    async def _stream(self, query: Any) -> list[tuple[Any, ...]]:
        result = await self.session.stream(query.execution_options(yield_per=BATCH))
        return [tuple(row) async for row in result]

    async def stored_p_alive(self, program_id: int) -> pl.DataFrame:
        query = select(
            MemberSegment.member_id,
            MemberSegment.p_alive,
            MemberSegment.previous_p_alive,
            MemberSegment.computed_at,
        ).where(MemberSegment.program_id == program_id)
        rows = [tuple(row) for row in (await self.session.execute(query)).all()]
        return pl.DataFrame(rows, schema=PREVIOUS_SCHEMA, orient="row")

    async def replace(self, program_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the program's rows by ``rows``."""
        await self.session.execute(
            delete(MemberSegment)
            .where(MemberSegment.program_id == program_id)
            .execution_options(synchronize_session=False)
        )
        if rows:
            await self.session.execute(insert(MemberSegment), list(rows))

    async def get(self, member_id: int) -> MemberSegment | None:
        return await self.session.get(MemberSegment, member_id)

    async def page(
        self,
        program_id: int,
        *,
        segment: str | None,
        group: SegmentGroup | None,
        after: int | None,
        limit: int,
    ) -> Sequence[MemberSegment]:
        """Up to ``limit`` rows with ``member_id > after`` in id order (keyset pagination),
        of one RFM segment and/or one group."""
        query = select(MemberSegment).where(MemberSegment.program_id == program_id)
        if segment is not None:
            query = query.where(MemberSegment.rfm_segment == segment)
        if group is not None:
            query = query.where(_GROUP_COLUMNS[group].is_(True))
        if after is not None:
            query = query.where(MemberSegment.member_id > after)
        query = query.order_by(MemberSegment.member_id).limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def grid_counts(self, program_id: int) -> dict[tuple[int, int], int]:
        query = (
            select(MemberSegment.recency_score, MemberSegment.frequency_score, func.count())
            .where(MemberSegment.program_id == program_id)
            .group_by(MemberSegment.recency_score, MemberSegment.frequency_score)
        )
        return {(r, f): int(n) for r, f, n in (await self.session.execute(query)).all()}

    async def segment_counts(self, program_id: int) -> dict[str, int]:
        query = (
            select(MemberSegment.rfm_segment, func.count())
            .where(MemberSegment.program_id == program_id)
            .group_by(MemberSegment.rfm_segment)
        )
        return {name: int(n) for name, n in (await self.session.execute(query)).all()}

    async def group_counts(self, program_id: int) -> dict[SegmentGroup, int]:
        query = select(
            *(func.count().filter(column.is_(True)) for column in _GROUP_COLUMNS.values())
        ).where(MemberSegment.program_id == program_id)
        counts = (await self.session.execute(query)).one()
        return {group: int(n) for group, n in zip(_GROUP_COLUMNS, counts, strict=True)}

    async def last_computed(self, program_id: int) -> datetime | None:
        query = select(func.max(MemberSegment.computed_at)).where(
            MemberSegment.program_id == program_id
        )
        value: datetime | None = (await self.session.execute(query)).scalar_one()
        return value
