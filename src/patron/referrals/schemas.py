"""Referrals as the API and the CLI show them, and what an enrolment may carry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from patron.kit.pages import Page
from patron.members.schemas import MemberCreate
from patron.referrals.models import ReferralStatus

# the alphabet of ``patron.kit.ids.random_code``; read case-insensitively
CODE_PATTERN = r"^[0-9A-Za-z]{4,16}$"
FINGERPRINT_PATTERN = r"^[\x21-\x7e]{1,256}$"

ReferralCode = Annotated[StrictStr, Field(min_length=4, max_length=16, pattern=CODE_PATTERN)]
Fingerprint = Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=FINGERPRINT_PATTERN)]


class EnrolmentReferral(BaseModel):
    """The referral fields of an enrolment (``POST /members``): the referrer's code, and the
    device and payment fingerprints of the new member when the shop has them (stored hashed;
    the self-referral check compares them)."""

    model_config = ConfigDict(frozen=True)

    referral_code: ReferralCode | None = None
    device_fingerprint: Fingerprint | None = None
    payment_fingerprint: Fingerprint | None = None


class ClawbackCoupon(BaseModel):
    """A coupon a clawed back referral gave: ``outcome`` ``voided`` (unused: cancelled),
    ``used`` (already used: cannot be taken back), ``expired`` or ``cancelled`` (before)."""

    model_config = ConfigDict(frozen=True)

    code: str
    side: str
    outcome: str


class Referral(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    referrer_id: int
    referee_id: int
    code: str
    status: ReferralStatus
    flags: list[str]
    purchase_id: int | None
    due_at: datetime | None
    referrer_points: int
    referee_points: int
    cost_points: int
    created_at: datetime
    qualified_at: datetime | None
    rewarded_at: datetime | None
    flagged_at: datetime | None
    reviewed_at: datetime | None
    review: str | None
    clawed_back_at: datetime | None = None
    """When the reward was taken back (the qualifying purchase was returned after the
    reward, or an admin rejected the referral flagged after it was paid)."""
    clawed_back_points: int = 0
    """What the clawback took back: the points reversed plus the points price of the coupons
    voided."""
    clawback_coupons: list[ClawbackCoupon] = []
    """Each coupon the referral gave and what the clawback did with it."""

    @field_validator("clawback_coupons", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class ReferralPage(Page[Referral]):
    """One page of referrals in id order; ``next_after`` is the ``after`` of the next page
    (``None``: the last page)."""

    cursor_scope = "referrals"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None


class MemberReferral(BaseModel):
    """A member's referral code and link, and how their referrals stand."""

    model_config = ConfigDict(frozen=True)

    member_id: int
    code: str
    link: str
    referrals: dict[str, int]
    points_earned: int
    # distinct visitors who opened the member's link at ``/join`` (the funnel's first step)
    invited: int = 0


class ReferralKpis(BaseModel):
    """The funnel and what it cost. ``invited``: distinct visitors who opened a member's
    referral link at ``/join?ref=CODE`` (one per member and visitor's cookie; a link to the
    shop's own site, ``referrals.link``, is not seen by Patron); ``enrolled``: referrals
    made (every invited friend who enrolled with a code); ``qualified``: those whose
    qualifying purchase was made (rewarded included); ``rewarded``: both sides paid;
    ``flagged``: held for review now; ``rejected``; ``cost_points``: points given plus the
    points price of the coupons given, both sides, less what clawbacks took back
    (``clawed_back_points``: points reversed plus the points price of coupons voided);
    ``cost_per_acquired_member``: ``cost_points`` over ``rewarded``, rounded down (``None``
    before the first)."""

    model_config = ConfigDict(frozen=True)

    enrolled: int
    pending: int
    qualified: int
    rewarded: int
    flagged: int
    rejected: int
    qualification_rate: float | None
    cost_points: int
    cost_per_acquired_member: int | None
    invited: int = 0
    clawed_back_points: int = 0


class Enrolment(MemberCreate):
    """An enrolment, optionally referred: ``referral_code`` is another member's code
    (``referral_code_unknown`` when no active member has it, and nothing is written);
    ``device_fingerprint`` and ``payment_fingerprint`` are what the shop knows of the new
    member's device and card (stored hashed, compared by the self-referral check)."""

    referral_code: ReferralCode | None = None
    device_fingerprint: Fingerprint | None = None
    payment_fingerprint: Fingerprint | None = None

    def member(self) -> MemberCreate:
        return MemberCreate.model_validate(self.model_dump(exclude=_REFERRAL_FIELDS))

    def referral(self) -> EnrolmentReferral:
        return EnrolmentReferral.model_validate(self.model_dump(include=_REFERRAL_FIELDS))


_REFERRAL_FIELDS = {"referral_code", "device_fingerprint", "payment_fingerprint"}
