"""Errors of the rewards domain: the catalogue, redemptions and coupons.

``tier_required`` is a 403: the member is known and the reward exists, but the member is not
entitled to it (like a permission the member lacks); it is not a state of the reward that a
retry could change. Coupon state problems (used, expired, cancelled) are 409 conflicts.
"""

from __future__ import annotations

from patron.kit.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError


class RewardNotFoundError(NotFoundError):
    code = "reward_not_found"

    def __init__(self, reward_code: str) -> None:
        super().__init__(f"the program has no reward {reward_code!r}", field="reward_code")
        self.reward_code = reward_code


class TierRequiredError(ForbiddenError):
    code = "tier_required"

    def __init__(self, *, reward_code: str, min_tier: str, tier_id: str | None) -> None:
        have = repr(tier_id) if tier_id is not None else "no tier"
        super().__init__(
            f"reward {reward_code!r} needs tier {min_tier!r} or higher; the member has {have}",
            field="reward_code",
        )
        self.reward_code = reward_code
        self.min_tier = min_tier
        self.tier_id = tier_id


class RewardNotEligibleError(ForbiddenError):
    """The reward is for the closed club: the member is not in its audience. ``reason`` is the
    eligibility code (``tier_not_in_audience``, ``segment_not_in_audience``, ...)."""

    code = "reward_not_eligible"

    def __init__(self, *, reward_code: str, reason: str) -> None:
        super().__init__(
            f"reward {reward_code!r} is for members of its audience only ({reason})",
            field="reward_code",
        )
        self.reward_code = reward_code
        self.reason = reason


class OutOfStockError(ConflictError):
    code = "out_of_stock"

    def __init__(self, reward_code: str) -> None:
        super().__init__(f"reward {reward_code!r} is out of stock", field="reward_code")
        self.reward_code = reward_code


class CouponNotFoundError(NotFoundError):
    code = "coupon_not_found"

    def __init__(self) -> None:
        super().__init__("no coupon has this code", field="code")


class MemberRequiredError(InvalidInputError):
    """A till consumed a coupon without naming the member presenting it."""

    code = "member_required"


class CouponNotYoursError(ForbiddenError):
    code = "coupon_not_yours"

    def __init__(self) -> None:
        super().__init__("this coupon belongs to another member", field="code")


class CouponUsedError(ConflictError):
    code = "coupon_used"

    def __init__(self) -> None:
        super().__init__("this coupon has already been used", field="code")


class CouponExpiredError(ConflictError):
    code = "coupon_expired"

    def __init__(self) -> None:
        super().__init__("this coupon has expired", field="code")


class CouponCancelledError(ConflictError):
    code = "coupon_cancelled"

    def __init__(self) -> None:
        super().__init__("this coupon has been cancelled", field="code")


class RewardExistsError(ConflictError):
    """A reward with this code is already in the active program."""

    code = "reward_exists"
