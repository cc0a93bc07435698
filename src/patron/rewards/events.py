"""The rewards' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from patron.kit.outbox import DomainEvent


class RewardsRedeemed(DomainEvent):
    type = "rewards.redeemed"
    member_id: int
    reward_key: str
    points: int
    coupon_code: str


class CouponsConsumed(DomainEvent):
    type = "coupons.consumed"
    member_id: int
    coupon_code: str
    ref: str | None
