"""Queries of the tiers domain: qualification metrics, member tiers, history, reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.kinds import EntryKind
from patron.ledger.models import LedgerEntry
from patron.members.models import Member
from patron.purchases.models import Purchase
from patron.tiers.models import TierChange, TierReview

_EARNED_KINDS = (EntryKind.EARN, EntryKind.BONUS, EntryKind.REVERSE)


class TierRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def points_earned(
        self, member_ids: Sequence[int], since: datetime | None
    ) -> dict[int, int]:
        """Earn + bonus − reversals (and positive adjustments) per member since ``since``."""
        earned = func.sum(LedgerEntry.amount)
        query = (
            select(LedgerEntry.member_id, earned)
            .where(
                LedgerEntry.member_id.in_(member_ids),
                (LedgerEntry.kind.in_(_EARNED_KINDS))
                | ((LedgerEntry.kind == EntryKind.ADJUST) & (LedgerEntry.amount > 0)),
            )
            .group_by(LedgerEntry.member_id)
        )
        if since is not None:
            query = query.where(LedgerEntry.occurred_at >= since)
        return {
            member: int(total or 0) for member, total in (await self.session.execute(query)).all()
        }

    async def money_spent(
        self, member_ids: Sequence[int], since: datetime | None
    ) -> dict[int, int]:
        """Totals less shipping and refunds per member since ``since`` (minor units)."""
        spent = func.sum(Purchase.total - Purchase.shipping - Purchase.refunded)
        query = (
            select(Purchase.member_id, spent)
            .where(Purchase.member_id.in_(member_ids))
            .group_by(Purchase.member_id)
        )
        if since is not None:
            query = query.where(Purchase.occurred_at >= since)
        rows = (await self.session.execute(query)).all()
        return {member: int(total or 0) for member, total in rows if member is not None}

    async def member_tiers(
        self, program_id: int, after_id: int, limit: int
    ) -> list[tuple[int, str | None]]:
        query = (
            select(Member.id, Member.tier_id)
            .where(Member.program_id == program_id, Member.id > after_id)
            .order_by(Member.id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def move(
        self,
        *,
        member_id: int,
        from_tier: str | None,
        to_tier: str | None,
        reason: str,
        metric: int,
        now: datetime,
    ) -> TierChange:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(tier_id=to_tier, tier_since=now)
        )
        change = TierChange(
            member_id=member_id,
            from_tier=from_tier,
            to_tier=to_tier,
            reason=reason,
            metric=metric,
            occurred_at=now,
        )
        self.session.add(change)
        await self.session.flush()
        return change

    async def history(self, member_id: int) -> list[TierChange]:
        query = select(TierChange).where(TierChange.member_id == member_id).order_by(TierChange.id)
        return list((await self.session.execute(query)).scalars())

    async def claim_review(
        self, program_id: int, review_date: date, now: datetime
    ) -> TierReview | None:
        """Insert the review marker of the day; ``None`` when that day's review already ran."""
        existing = await self.session.execute(
            select(TierReview).where(
                TierReview.program_id == program_id, TierReview.review_date == review_date
            )
        )
        if existing.scalar_one_or_none() is not None:
            return None
        review = TierReview(program_id=program_id, review_date=review_date, ran_at=now)
        try:
            async with self.session.begin_nested():
                self.session.add(review)
        except IntegrityError:
            return None
        return review
