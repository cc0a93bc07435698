"""The referrals' events (a contract: never renamed; see docs/events.md). ``member_id`` is the
referee's."""

from __future__ import annotations

from datetime import datetime

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
    """A rewarded referral's qualifying purchase was returned below the minimum: the points
    each side got from it were taken back (``referrer_points``, ``referee_points``: what was
    taken), once."""

    type = "referrals.clawed_back"
    referral_id: int
    member_id: int
    referrer_id: int
    purchase_id: int | None
    referrer_points: int
    referee_points: int
