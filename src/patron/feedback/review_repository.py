"""Queries of reviews and their replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.models import Review, ReviewReply
from patron.purchases.models import Purchase


class ReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, review_id: int) -> Review | None:
        return await self.session.get(Review, review_id)

    async def by_key(self, program_id: int, key: str) -> Review | None:
        found = await self.session.execute(
            select(Review).where(Review.program_id == program_id, Review.idempotency_key == key)
        )
        return found.scalar_one_or_none()

    async def try_insert(self, review: Review) -> bool:
        """Insert in a savepoint; False when the idempotency key is taken."""
        try:
            async with self.session.begin_nested():
                self.session.add(review)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def purchase_member(self, purchase_id: int) -> tuple[int, int | None] | None:
        """(program id, member id) of a purchase, None when it does not exist."""
        found = await self.session.execute(
            select(Purchase.program_id, Purchase.member_id).where(Purchase.id == purchase_id)
        )
        row = found.first()
        return None if row is None else (row[0], row[1])

    async def rewarded_since(self, member_id: int, since: datetime | None) -> int:
        query = select(func.count()).where(Review.member_id == member_id, Review.points > 0)
        if since is not None:
            query = query.where(Review.created_at >= since)
        return int((await self.session.execute(query)).scalar_one())

    async def page(
        self,
        program_id: int,
        *,
        member_id: int | None,
        published: bool | None,
        needs_follow_up: bool | None,
        after: int | None,
        limit: int,
        answered: bool | None = None,
    ) -> list[Review]:
        query = select(Review).where(Review.program_id == program_id)
        if answered is not None:
            replied = Review.first_reply_at.is_not(None)
            query = query.where(replied if answered else ~replied)
        if member_id is not None:
            query = query.where(Review.member_id == member_id)
        if published is not None:
            query = query.where(Review.is_published.is_(published))
        if needs_follow_up is not None:
            query = query.where(Review.needs_follow_up.is_(needs_follow_up))
        if after is not None:
            query = query.where(Review.id > after)
        found = await self.session.execute(query.order_by(Review.id).limit(limit))
        return list(found.scalars())

    async def replies(self, review_ids: Sequence[int]) -> dict[int, list[ReviewReply]]:
        grouped: dict[int, list[ReviewReply]] = {review_id: [] for review_id in review_ids}
        if not review_ids:
            return grouped
        found = await self.session.execute(
            select(ReviewReply)
            .where(ReviewReply.review_id.in_(review_ids))
            .order_by(ReviewReply.id)
        )
        for reply in found.scalars():
            grouped[reply.review_id].append(reply)
        return grouped

    async def reply_by_key(self, review_id: int, key: str) -> ReviewReply | None:
        found = await self.session.execute(
            select(ReviewReply).where(
                ReviewReply.review_id == review_id, ReviewReply.idempotency_key == key
            )
        )
        return found.scalar_one_or_none()

    async def try_insert_reply(self, reply: ReviewReply) -> bool:
        try:
            async with self.session.begin_nested():
                self.session.add(reply)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def mark_first_reply(self, review_id: int, now: datetime) -> None:
        """Set `first_reply_at` unless a reply came first (atomic, no read-modify-write)."""
        await self.session.execute(
            update(Review)
            .where(Review.id == review_id, Review.first_reply_at.is_(None))
            .values(first_reply_at=now)
        )

    async def set_follow_up(self, review_id: int, ref: str) -> bool:
        result = await self.session.execute(
            update(Review)
            .where(Review.id == review_id, Review.needs_follow_up.is_(True))
            .values(follow_up_ref=ref)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def open_follow_ups(self, program_id: int, limit: int) -> list[Review]:
        found = await self.session.execute(
            select(Review)
            .where(
                Review.program_id == program_id,
                Review.needs_follow_up.is_(True),
                Review.follow_up_ref.is_(None),
            )
            .order_by(Review.id)
            .limit(limit)
        )
        return list(found.scalars())
