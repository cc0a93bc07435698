"""What the rewards services return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from patron.kit.strict import WHOLE
from patron.kit.text import NO_NUL
from patron.programs.schema import RewardKind
from patron.rewards.models import CouponStatus


class Unavailability(StrEnum):
    """Why a catalogue reward cannot be redeemed right now (the error code redeem would give)."""

    OUT_OF_STOCK = "out_of_stock"
    TIER_REQUIRED = "tier_required"
    INSUFFICIENT_POINTS = "insufficient_points"
    NOT_ELIGIBLE = "reward_not_eligible"  # not in the reward's audience (the closed club)


class RewardEligibility(BaseModel):
    """Whether the member may redeem a gated reward, and why: a stable ``code`` and its
    ``params`` (docs/api.md, "Eligibility codes")."""

    model_config = ConfigDict(frozen=True)

    eligible: bool
    code: str
    params: dict[str, Any]


class CatalogueReward(BaseModel):
    """A reward of the active program as the catalogue shows it.

    ``value``: minor units for money kinds, a whole percent for percent_discount, else None.
    ``remaining``: coupons left in stock (None: unlimited). ``available`` is true when
    ``reasons`` is empty; affordability is judged only when the catalogue is asked for a
    member.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    description: str
    kind: RewardKind
    value: int | None
    currency: str
    sku: str | None
    cost_points: int
    valid_days: int | None
    """Days a coupon stays valid (the program's default when the reward names none);
    ``null``: it never expires."""
    min_tier: str | None
    stock: int | None
    remaining: int | None
    enabled: bool = True
    """False only in the console's catalogue (``include_disabled``): a disabled reward."""
    available: bool
    reasons: list[Unavailability]
    audience: dict[str, list[str]] | None = None
    """The closed club: who may redeem it (``tiers``, ``segments``, ``flags``); null: anyone."""
    eligibility: RewardEligibility | None = None
    """For a member: whether they may redeem it by tier and audience, and why (null without
    a member)."""


class CouponView(BaseModel):
    """A coupon as its holder and the checkout see it (``value`` as in the catalogue)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    code: str
    member_id: int
    program_id: int
    reward_code: str
    kind: RewardKind
    value: int | None
    currency: str
    sku: str | None
    cost_points: int
    status: CouponStatus
    issued_at: datetime
    valid_until: datetime | None
    consumed_at: datetime | None
    consumed_ref: str | None
    cancelled_at: datetime | None


class Redemption(BaseModel):
    """The outcome of a redemption.

    ``balance_after`` is the member's available points after the redemption; a replay of the
    same idempotency key (``replayed``) reports the balance at the time of the replay.
    """

    model_config = ConfigDict(frozen=True)

    coupon: CouponView
    points_spent: int
    balance_after: int
    replayed: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def coupon_code(self) -> str:
        return self.coupon.code


class CouponCancellation(BaseModel):
    """A cancelled coupon and the points it gave back (a new lot) to its member."""

    model_config = ConfigDict(frozen=True)

    coupon: CouponView
    points_refunded: int
    balance_after: int


class RedemptionCreate(BaseModel):
    member_id: Annotated[int, Field(gt=0, le=2**53, strict=True), WHOLE]
    reward_code: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
    idempotency_key: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None = (
        None
    )


class CouponConsume(BaseModel):
    ref: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None = None
    member_id: Annotated[int, Field(gt=0, le=2**53, strict=True), WHOLE] | None = None
