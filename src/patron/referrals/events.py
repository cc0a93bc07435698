"""The referrals' events (a contract: never renamed; see docs/events.md). ``member_id`` is the
referee's."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from patron.kit.outbox import DomainEvent


class ReferralCreated(DomainEvent):
    """A member enrolled with another member's referral code (``status`` ``pending`` or
    ``flagged``)."""

    type = "referrals.created"
    referral_id: int
    member_id: int
    referrer_id: int
    status: str


class ReferralFlagged(DomainEvent):
    """A referral is held for review: ``flags`` name the abuse checks that failed
    (``self_referral``, ``velocity``, ``referee_not_new``)."""

    type = "referrals.flagged"
    referral_id: int
    member_id: int
    referrer_id: int
    flags: list[str]
    # the referral was already paid when the check failed (a fingerprint given with a later
    # purchase): held for review, its reward taken back if an admin rejects it
    paid: bool = False


class ReferralQualified(DomainEvent):
    """The referee's first qualifying purchase is made; both sides are rewarded from
    ``due_at`` if it stands (is not returned below the minimum) until then."""

    type = "referrals.qualified"
    referral_id: int
    member_id: int
    referrer_id: int
    purchase_id: int
    due_at: datetime


class ReferralRewarded(DomainEvent):
    """Both sides were rewarded, once: the points each got (the section's and the referral
    campaigns'), the coupons, and ``cost_points`` (points plus the coupons' points price)."""

    type = "referrals.rewarded"
    referral_id: int
    member_id: int
    referrer_id: int
    referrer_points: int
    referee_points: int
    coupon_codes: list[str]
    cost_points: int


class ReferralClawedBack(DomainEvent):
    """A paid referral was taken back, once: its qualifying purchase was returned below the
    minimum (``reason`` ``returned``), or an admin rejected it after a self-referral was found
    once it was paid (``rejected``). ``referrer_points``, ``referee_points``: the points taken
    from each side; ``coupons_voided``: its unused coupons, cancelled; ``coupons_used``: those
    already used, which cannot be taken back; ``clawed_back_points``: the points taken plus
    the points price of the coupons voided (the KPIs count it as given back)."""

    type = "referrals.clawed_back"
    referral_id: int
    member_id: int
    referrer_id: int
    purchase_id: int | None
    referrer_points: int
    referee_points: int
    reason: str = "returned"
    clawed_back_points: int = 0
    coupons_voided: list[str] = Field(default_factory=list)
    coupons_used: list[str] = Field(default_factory=list)
