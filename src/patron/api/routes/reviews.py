"""``/reviews``: members' reviews, staff replies, publishing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from patron.access.schemas import Principal
from patron.api.deps import Now, Pos, ReadSession, Staff, WriteSession
from patron.api.paging import PageCursor
from patron.api.params import PathId, QueryBool
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.feedback.errors import ReviewNotFoundError
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.strict import DIGITS
from patron.members.errors import MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError

router = APIRouter(prefix="/reviews", tags=["reviews"])

ReviewId = PathId


@router.post("", response_model=schemas.Review, status_code=status.HTTP_201_CREATED)
@raises(ProgramNotFoundError, MemberNotFoundError, InvalidInputError, IdempotencyConflictError)
async def create_review(
    data: schemas.ReviewCreate, session: WriteSession, _: Pos, till: TillIdentityDep, now: Now
) -> schemas.Review:
    """A member's review (rating 1-5, text, optional sku, purchase and store), with the
    program's review points within their cap. With ``idempotency_key`` a retry returns the
    same review."""
    await till.check(session, data.member_id, now=now)
    return await feedback_service.create_review(session, data=data, now=now)


@router.get("", response_model=schemas.ReviewPage)
async def list_reviews(
    session: ReadSession,
    _: Staff,
    member_id: Annotated[int | None, Query(gt=0, le=2**63 - 1), DIGITS] = None,
    published: QueryBool | None = None,
    needs_follow_up: QueryBool | None = None,
    answered: QueryBool | None = None,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=200), DIGITS] = 50,
) -> schemas.ReviewPage:
    """Reviews in id order (oldest first); ``answered=false``: those still waiting for a
    staff reply. Pass the last id seen as ``after``."""
    return await feedback_service.list_reviews(
        session,
        member_id=member_id,
        published=published,
        needs_follow_up=needs_follow_up,
        answered=answered,
        after=schemas.ReviewPage.resume(cursor, after),
        limit=limit,
    )


@router.get("/{review_id}", response_model=schemas.Review)
@raises(ReviewNotFoundError)
async def get_review(review_id: ReviewId, session: ReadSession, _: Staff) -> schemas.Review:
    return await feedback_service.get_review(session, review_id=review_id)


@router.post("/{review_id}/replies", response_model=schemas.Review)
@raises(ReviewNotFoundError, IdempotencyConflictError)
async def reply(
    review_id: ReviewId,
    data: schemas.ReplyCreate,
    session: WriteSession,
    caller: Staff,
    now: Now,
) -> schemas.Review:
    """A staff reply; the first one sets the review's response time."""
    author: Principal = caller
    return await feedback_service.reply(
        session,
        review_id=review_id,
        text=data.text,
        author=author.name,
        now=now,
        idempotency_key=data.idempotency_key,
    )


@router.post("/{review_id}/publish", response_model=schemas.Review)
@raises(ReviewNotFoundError)
async def publish(
    review_id: ReviewId, data: schemas.PublishChange, session: WriteSession, _: Staff
) -> schemas.Review:
    """Show the review and its replies publicly (``published: true``) or hide them."""
    return await feedback_service.publish(session, review_id=review_id, published=data.published)
