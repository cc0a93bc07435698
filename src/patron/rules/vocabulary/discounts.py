"""The standing discount program as the program file writes it (``standing_discounts:``):
a percentage off the goods for the members of an audience (a tier, a segment, a VIP flag).

docs/campaigns.md, "Standing discounts", states the arithmetic and how it stacks with coupons
and campaigns; :mod:`patron.rules.standing` computes it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from patron.kit.strict import Strict
from patron.rules.vocabulary.audience import MemberAudience
from patron.rules.vocabulary.base import Slug
from patron.rules.vocabulary.campaigns import CampaignNames

Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2, allow_inf_nan=False)]


class StandingDiscount(Strict):
    """``percent`` (above 0, at most 100, at most 2 decimal places) off the goods of every
    purchase of a member of ``audience`` (every member when left out)."""

    key: Slug
    name: CampaignNames
    percent: Percent
    audience: MemberAudience = MemberAudience()
    description: Annotated[str, Field(max_length=2000)] = ""

    @property
    def hundredths(self) -> int:
        """The percent in hundredths of a percent (``7.5`` is 750): exact."""
        return int(self.percent * 100)
