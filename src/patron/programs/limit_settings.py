"""The ``limits`` section of the program file: what one purchase may be (docs/program.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from patron.programs.strict import WHOLE, Strict


class Limits(Strict):
    """A purchase whose ``total`` is above ``max_purchase_total`` (in the program currency),
    or whose points would be above ``max_points_per_purchase``, is refused with 422
    ``limit_exceeded`` and nothing is written: a till's typo or a stolen till key cannot
    credit a fortune in one receipt."""

    max_purchase_total: Annotated[
        Decimal, Field(gt=0, le=Decimal(10) ** 13, allow_inf_nan=False)
    ] = Decimal(1_000_000)
    max_points_per_purchase: Annotated[int, WHOLE, Field(gt=0, le=2**53, strict=True)] = 1_000_000
    default_coupon_valid_days: Annotated[int, WHOLE, Field(gt=0, le=36_600, strict=True)] = 365
    """Days a coupon stays valid when its reward names no ``valid_days`` (a coupon that never
    expires is a liability for ever, and a guessable one stays guessable): ``valid_days:
    never`` on the reward asks for that explicitly."""
