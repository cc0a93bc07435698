"""``/checkout/quote``: what a cart earns and what its coupons take off. Writes nothing."""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.deps import Now, Pos, ReadSession
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.kit.errors import InvalidInputError
from patron.members.errors import MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.purchases.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    OccurredInFutureError,
    TotalMismatchError,
)
from patron.purchases.quote import quote
from patron.purchases.schemas import Quote, QuoteRequest
from patron.rewards.errors import (
    CouponCancelledError,
    CouponExpiredError,
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
)

router = APIRouter(prefix="/checkout", tags=["checkout"])


@router.post("/quote", response_model=Quote)
@raises(
    ProgramNotFoundError,
    MemberNotFoundError,
    CurrencyMismatchError,
    InvalidAmountError,
    InvalidInputError,
    TotalMismatchError,
    OccurredInFutureError,
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
    CouponCancelledError,
    CouponExpiredError,
)
async def checkout_quote(
    data: QuoteRequest, session: ReadSession, _: Pos, till: TillIdentityDep, now: Now
) -> Quote:
    """Discounts from ``coupon_codes``, ``points_earned`` with the per-rule ``breakdown``, and
    ``hints`` such as "spend 500.00 RUB more for Big basket bonus"."""
    await till.check(session, data.member_id, now=now)
    active = await get_active_program(session)
    return await quote(session, active=active, data=data, now=now)
