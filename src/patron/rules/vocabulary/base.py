"""The small value types of the rule vocabulary: money, multipliers, ids, rounding, weekdays and
per-member limits. Nothing here is a float, so every computation downstream can be exact."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from patron.kit.strict import Strict

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
MoneyAmount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Multiplier = Annotated[Decimal, Field(gt=0, le=100, decimal_places=4, allow_inf_nan=False)]
# a free attribute of a member (an audience's ``attributes``) or of a custom event
# (``event_attribute_in``): its name, and the values it may hold (text, whole numbers, true/false)
AttributeName = Annotated[str, Field(min_length=1, max_length=64)]
AttributeValue = Annotated[str, Field(max_length=1000)] | int | bool
AttributeValues = Annotated[list[AttributeValue], Field(min_length=1, max_length=100)]


class Rounding(StrEnum):
    FLOOR = "floor"
    ROUND = "round"  # half up
    CEIL = "ceil"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def index(self) -> int:  # type: ignore[override]  # shadows str.index on purpose
        """Monday is 0, as in :meth:`datetime.date.weekday`."""
        return list(Weekday).index(self)


class LimitPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"


class Limit(Strict):
    """The rule applies at most ``per_member`` times per member per calendar ``period``
    (read in the program's time zone; weeks start on Monday)."""

    per_member: Annotated[int, Field(gt=0, le=2**31 - 1, strict=True)]
    period: LimitPeriod = LimitPeriod.LIFETIME
