"""The rewards domain's use cases in one place (implemented by use case in
:mod:`~patron.rewards.catalogue`, :mod:`~patron.rewards.redeem` and
:mod:`~patron.rewards.coupons`)."""

from __future__ import annotations

from patron.rewards.catalogue import list_rewards
from patron.rewards.coupons import (
    cancel_coupon,
    consume_coupon,
    find_coupon,
    list_coupons,
    validate_coupon,
)
from patron.rewards.redeem import redeem

__all__ = [
    "cancel_coupon",
    "consume_coupon",
    "find_coupon",
    "list_coupons",
    "list_rewards",
    "redeem",
    "validate_coupon",
]
