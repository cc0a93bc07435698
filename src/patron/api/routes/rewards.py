"""``/rewards``, ``/redemptions``, ``/coupons``: the catalogue, spending points, checkout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from patron.access.models import Role
from patron.api.deps import Now, Pos, Reader, ReadSession, WriteSession
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.kit.errors import IdempotencyConflictError
from patron.kit.strict import DIGITS
from patron.ledger.errors import AccountNotFoundError, InsufficientPointsError
from patron.members import service as member_service
from patron.members.errors import (
    MemberBlockedError,
    MemberNotFoundError,
    VelocityExceededError,
)
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.rewards import service as reward_service
from patron.rewards.errors import (
    CouponCancelledError,
    CouponExpiredError,
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
    MemberRequiredError,
    OutOfStockError,
    RewardNotEligibleError,
    RewardNotFoundError,
    TierRequiredError,
)
from patron.rewards.schemas import (
    CatalogueReward,
    CouponCancellation,
    CouponConsume,
    CouponView,
    Redemption,
    RedemptionCreate,
)

router = APIRouter(tags=["rewards"])

CouponCode = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/rewards", response_model=list[CatalogueReward])
@raises(ProgramNotFoundError, MemberNotFoundError)
async def list_rewards(
    session: ReadSession,
    _: Reader,
    till: TillIdentityDep,
    now: Now,
    member_id: Annotated[int | None, Query(gt=0, le=2**63 - 1), DIGITS] = None,
) -> list[CatalogueReward]:
    """The rewards catalogue; with ``member_id``, ``available`` also checks that member's tier
    and points."""
    await till.check(session, member_id, now=now)
    active = await get_active_program(session)
    member = (
        None if member_id is None else await member_service.get_member(session, member_id=member_id)
    )
    return await reward_service.list_rewards(session, active=active, member=member, now=now)


@router.post("/redemptions", response_model=Redemption, status_code=201)
@raises(
    ProgramNotFoundError,
    MemberNotFoundError,
    MemberBlockedError,
    RewardNotFoundError,
    TierRequiredError,
    RewardNotEligibleError,
    InsufficientPointsError,
    AccountNotFoundError,
    OutOfStockError,
    IdempotencyConflictError,
    VelocityExceededError,
)
async def redeem(
    data: RedemptionCreate, session: WriteSession, _: Pos, till: TillIdentityDep, now: Now
) -> Redemption:
    """Spend points on a reward and issue its coupon (``coupon_code``). With an
    ``idempotency_key`` a retry returns the same coupon. 409 ``insufficient_points``,
    ``out_of_stock``; 403 ``tier_required``, ``reward_not_eligible`` (not in the reward's
    audience). A till presents the member it identified
    (``X-Patron-Member-Token``, ``-External-Id`` or ``-Phone``)."""
    await till.check(session, data.member_id, now=now)
    active = await get_active_program(session)
    return await reward_service.redeem(
        session,
        active=active,
        member_id=data.member_id,
        reward_code=data.reward_code,
        idempotency_key=data.idempotency_key,
        now=now,
    )


@router.get("/coupons/{code}", response_model=CouponView)
@raises(
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
    CouponExpiredError,
    CouponCancelledError,
)
async def validate_coupon(
    code: CouponCode,
    session: ReadSession,
    _: Reader,
    till: TillIdentityDep,
    now: Now,
    member_id: Annotated[int | None, Query(gt=0, le=2**63 - 1), DIGITS] = None,
) -> CouponView:
    """The coupon if it can be used now (by ``member_id`` when given); else 404/403/409."""
    await till.check(session, member_id, now=now)
    return await reward_service.validate_coupon(session, code=code, member_id=member_id, now=now)


@router.post("/coupons/{code}/consume", response_model=CouponView)
@raises(
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
    CouponExpiredError,
    CouponCancelledError,
    MemberRequiredError,
    MemberBlockedError,
)
async def consume_coupon(
    code: CouponCode,
    session: WriteSession,
    caller: Pos,
    till: TillIdentityDep,
    now: Now,
    data: CouponConsume | None = None,
) -> CouponView:
    """Use the coupon once at checkout. Idempotent by ``ref`` (the order's id): the same ref
    again answers the same; otherwise a used coupon is 409 ``coupon_used``. A till (``pos``
    key) names the member presenting it (``member_id``; 422 ``member_required`` without):
    another member's coupon is 403 ``coupon_not_yours``; a blocked member's coupon is 409
    ``member_blocked`` (a blocked member spends nothing)."""
    body = data or CouponConsume()
    if caller.role is Role.POS and body.member_id is None:
        raise MemberRequiredError("a till names the member using the coupon", field="member_id")
    await till.check(session, body.member_id, now=now)
    return await reward_service.consume_coupon(
        session, code=code, now=now, ref=body.ref, member_id=body.member_id
    )


@router.post("/coupons/{code}/cancel", response_model=CouponCancellation)
@raises(
    ProgramNotFoundError,
    CouponNotFoundError,
    CouponUsedError,
    CouponExpiredError,
    CouponCancelledError,
)
async def cancel_coupon(
    code: CouponCode, session: WriteSession, _: Pos, now: Now
) -> CouponCancellation:
    """Cancel an unused coupon; its points return to the member as a new lot."""
    active = await get_active_program(session)
    return await reward_service.cancel_coupon(session, active=active, code=code, now=now)
