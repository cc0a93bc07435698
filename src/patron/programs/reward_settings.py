"""The program file's ``rewards:`` section: the catalogue's items (``docs/program.md``,
Rewards). :mod:`patron.programs.schema` puts it in a program."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StrictBool, model_validator

from patron.programs.limit_settings import Limits
from patron.programs.reward_names import RewardNames
from patron.programs.strict import Strict
from patron.rules.vocabulary.audience import MemberAudience

Points = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class RewardKind(StrEnum):
    PERCENT_DISCOUNT = "percent_discount"
    FIXED_DISCOUNT = "fixed_discount"
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"
    GIFT_CERTIFICATE = "gift_certificate"
    CASHBACK = "cashback"
    EXCLUSIVE_ACCESS = "exclusive_access"
    PARTNER_VOUCHER = "partner_voucher"


MONEY_VALUED = {RewardKind.FIXED_DISCOUNT, RewardKind.GIFT_CERTIFICATE, RewardKind.CASHBACK}
"""The kinds whose ``value`` is a money amount in the program currency."""


class Reward(Strict):
    """A catalogue item. ``value``: percent (1-100) for percent_discount, a money amount for
    fixed_discount, gift_certificate and cashback; ``sku`` names the free product."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    # the name per language (the portal's); left out of the stored document when absent
    names: RewardNames | None = Field(default=None, exclude_if=lambda value: value is None)
    kind: RewardKind
    value: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] | None = None
    sku: str | None = None
    cost_points: Points
    valid_days: Annotated[int, Field(gt=0, le=36_600, strict=True)] | Literal["never"] | None = None
    """Days a coupon of this reward stays valid; none: ``limits.default_coupon_valid_days``;
    ``never``: it never expires."""
    stock: Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)] | None = None
    min_tier: str | None = None
    # the closed club: only members of this audience may redeem it (docs/campaigns.md)
    audience: MemberAudience | None = Field(default=None, exclude_if=lambda value: value is None)
    description: str = ""
    # left out of the stored document when true, so that programs stored before the field
    # keep their checksum (tests/rules/test_vocabulary.py)
    enabled: StrictBool = Field(default=True, exclude_if=lambda value: value is True)
    """``false``: a disabled reward, left out of the catalogue and refused at redemption
    (``reward_not_found``); its coupons already issued keep working."""

    @model_validator(mode="after")
    def _value_fits_kind(self) -> Self:
        if self.kind is RewardKind.PERCENT_DISCOUNT:
            if self.value is None or self.value != int(self.value) or self.value > 100:
                raise ValueError("value: percent_discount needs a whole percent from 1 to 100")
        elif self.kind in MONEY_VALUED and self.value is None:
            raise ValueError(f"value: {self.kind.value} needs a money amount")
        if self.kind is RewardKind.FREE_PRODUCT and not self.sku:
            raise ValueError("sku: free_product needs the sku of the free product")
        return self

    def name_in(self, language: str) -> str:
        """The name in ``language`` (``names``), else ``name``."""
        return self.name if self.names is None else self.names.pick(language, self.name)

    def coupon_days(self, limits: Limits) -> int | None:
        """Days its coupons stay valid (``None``: for ever, when asked for)."""
        if self.valid_days == "never":
            return None
        return self.valid_days if self.valid_days is not None else limits.default_coupon_valid_days
