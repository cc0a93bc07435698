"""The rewards' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from patron.kit.outbox import DomainEvent


class RewardsRedeemed(DomainEvent):
    type = "rewards.redeemed"
    member_id: int
    reward_key: str
    points: int
    coupon_code: str


class RewardsGranted(DomainEvent):
    """A coupon given without spending points: a deferred ``issue_reward`` effect of a rule
    (``source`` ``rule``, ``source_id`` the rule id) or a campaign (``campaign``, its key)
    that applied to purchase ``purchase_id``; a referral's reward; a raffle's prize
    (``raffle``, the campaign key; ``purchase_id`` null)."""

    type = "rewards.granted"
    member_id: int
    reward_key: str
    coupon_code: str
    source: str
    source_id: str
    purchase_id: int | None


class CouponsConsumed(DomainEvent):
    type = "coupons.consumed"
    member_id: int
    coupon_code: str
    ref: str | None
