"""Reviews: create (with capped points), list, reply (first reply = response time), publish.

Points: `reviews.points` of the program for each review, at most `max_rewarded` rewarded
reviews per member per calendar `cap_period` (program time zone). The member's account is
locked before counting, so two concurrent reviews cannot both pass the cap; the credit's
idempotency key is `review:{id}`. A review is flagged `needs_follow_up` when its rating is at
most `follow_up_rating_at_most` (at once) or, with `follow_up_negative_text`, when its text is
analysed as negative (by `analysis_jobs.analyse_pending`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import Cap, award
from patron.feedback import schemas
from patron.feedback.errors import ReviewNotFoundError
from patron.feedback.events import ReviewsCreated, ReviewsReplied
from patron.feedback.models import Review, ReviewReply
from patron.feedback.review_repository import ReviewRepository
from patron.feedback.views import analysis_view
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.outbox import emit
from patron.ledger.sources import LedgerSource
from patron.members import service as member_service
from patron.members.errors import MemberNotFoundError
from patron.programs import service as program_service
from patron.programs.schema import LimitPeriod
from patron.programs.schemas import ActiveProgram
from patron.rules.periods import limit_period_bounds

MAX_PAGE = 200


def _fingerprint(data: schemas.ReviewCreate) -> str:
    body = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


async def create_review(
    session: AsyncSession, *, data: schemas.ReviewCreate, now: datetime
) -> schemas.Review:
    """Store a member's review and credit its points within the cap (see module). With an
    `idempotency_key` the same body again returns the first review; another body under the
    same key is 409 `idempotency_conflict`."""
    active = await program_service.get_active_program(session)
    repository = ReviewRepository(session)
    fingerprint = _fingerprint(data)
    if data.idempotency_key is not None:
        existing = await repository.by_key(active.program_id, data.idempotency_key)
        if existing is not None:
            return await _same_or_conflict(session, existing, fingerprint)
    member = await member_service.get_member(session, member_id=data.member_id)
    if member.program_id != active.program_id:
        raise MemberNotFoundError(
            f"member {data.member_id} does not exist",
            field="member_id",
            params={"member_id": data.member_id},
        )
    if data.purchase_id is not None:
        owner = await repository.purchase_member(data.purchase_id)
        if owner is None or owner != (active.program_id, data.member_id):
            raise InvalidInputError(
                "no purchase with this id belongs to the member", field="purchase_id"
            )
    settings = active.program.reviews
    review = Review(
        program_id=active.program_id,
        member_id=data.member_id,
        idempotency_key=data.idempotency_key,
        rating=data.rating,
        text=data.text.strip(),
        sku=data.sku,
        purchase_id=data.purchase_id,
        store=data.store,
        tier_id=member.tier_id,
        is_published=False,
        points=0,
        keywords=[],
        needs_follow_up=data.rating <= settings.follow_up_rating_at_most,
        request_hash=fingerprint,
        created_at=now,
    )
    if not await repository.try_insert(review):
        assert data.idempotency_key is not None  # only the key is unique
        raced = await repository.by_key(active.program_id, data.idempotency_key)
        assert raced is not None
        return await _same_or_conflict(session, raced, fingerprint)
    if settings.points > 0 and member.is_active:
        await _reward(session, active, review, now)
    created = ReviewsCreated(member_id=review.member_id, review_id=review.id)
    await emit(session, created, program_id=active.program_id, occurred_at=now)
    return await _view(session, review)


async def _same_or_conflict(
    session: AsyncSession, existing: Review, fingerprint: str
) -> schemas.Review:
    if existing.request_hash != fingerprint:
        raise IdempotencyConflictError(
            "this idempotency_key was used for another review", field="idempotency_key"
        )
    return await _view(session, existing)


async def _reward(
    session: AsyncSession, active: ActiveProgram, review: Review, now: datetime
) -> None:
    """The review's points, within the cap of rewarded reviews per period."""
    settings = active.program.reviews
    start, _ = limit_period_bounds(
        LimitPeriod(settings.cap_period.value), now, active.program.program.timezone
    )
    awarded = await award(
        session,
        active=active,
        member_id=review.member_id,
        points=settings.points,
        source=LedgerSource.REVIEW,
        source_id=str(review.id),
        key=(review.id,),
        now=now,
        cap=Cap(count=settings.max_rewarded, since=start),
        description="review",
    )
    if awarded.entry is not None:
        review.points = settings.points
        review.points_entry_id = awarded.entry.id
        await session.flush()


async def _require(session: AsyncSession, review_id: int) -> Review:
    active = await program_service.get_active_program(session)
    review = await ReviewRepository(session).get(review_id)
    if review is None or review.program_id != active.program_id:
        raise ReviewNotFoundError(review_id)
    return review


async def get_review(session: AsyncSession, *, review_id: int) -> schemas.Review:
    return await _view(session, await _require(session, review_id))


async def list_reviews(
    session: AsyncSession,
    *,
    member_id: int | None = None,
    published: bool | None = None,
    needs_follow_up: bool | None = None,
    answered: bool | None = None,
    after: int | None = None,
    limit: int = 50,
) -> schemas.ReviewPage:
    """Reviews in id order, `limit` (1..200) per page; `after` is the last id seen.
    ``answered``: only those with (true) or without (false) a staff reply."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    active = await program_service.get_active_program(session)
    repository = ReviewRepository(session)
    rows = await repository.page(
        active.program_id,
        member_id=member_id,
        published=published,
        needs_follow_up=needs_follow_up,
        answered=answered,
        after=after,
        limit=limit + 1,
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    replies = await repository.replies([row.id for row in rows])
    return schemas.ReviewPage(
        items=[_to_schema(row, replies[row.id]) for row in rows],
        next_after=rows[-1].id if has_more else None,
    )


async def reply(
    session: AsyncSession,
    *,
    review_id: int,
    text: str,
    author: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> schemas.Review:
    """Add a staff reply; the first reply sets the review's response time. With an
    `idempotency_key` a retry adds nothing."""
    review = await _require(session, review_id)
    repository = ReviewRepository(session)
    if idempotency_key is None or await repository.reply_by_key(review.id, idempotency_key) is None:
        row = ReviewReply(
            review_id=review.id,
            idempotency_key=idempotency_key,
            author=author[:200],
            text=text.strip(),
            created_at=now,
        )
        if await repository.try_insert_reply(row):
            await repository.mark_first_reply(review.id, now)
            replied = ReviewsReplied(member_id=review.member_id, review_id=review.id)
            await emit(session, replied, program_id=review.program_id, occurred_at=now)
            await session.refresh(review)
    return await _view(session, review)


async def publish(session: AsyncSession, *, review_id: int, published: bool) -> schemas.Review:
    """Show the review and its replies publicly (or hide them again)."""
    review = await _require(session, review_id)
    review.is_published = published
    await session.flush()
    return await _view(session, review)


async def _view(session: AsyncSession, review: Review) -> schemas.Review:
    replies = await ReviewRepository(session).replies([review.id])
    return _to_schema(review, replies[review.id])


def _to_schema(review: Review, replies: list[ReviewReply]) -> schemas.Review:
    response_seconds = (
        None
        if review.first_reply_at is None
        else int((review.first_reply_at - review.created_at).total_seconds())
    )
    return schemas.Review(
        id=review.id,
        member_id=review.member_id,
        rating=review.rating,
        text=review.text,
        sku=review.sku,
        purchase_id=review.purchase_id,
        store=review.store,
        tier_id=review.tier_id,
        is_published=review.is_published,
        points=review.points,
        needs_follow_up=review.needs_follow_up,
        follow_up_ref=review.follow_up_ref,
        created_at=review.created_at,
        first_reply_at=review.first_reply_at,
        response_seconds=response_seconds,
        analysis=analysis_view(review),
        replies=[schemas.ReviewReply.model_validate(reply) for reply in replies],
    )
