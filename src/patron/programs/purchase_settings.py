"""The ``purchases`` and ``returns`` sections of the program file: how purchases are accepted
and what a return does to points already spent (docs/program.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from patron.programs.strict import Strict


class WhenSpent(StrEnum):
    DEBT = "debt"
    CAP_AT_AVAILABLE = "cap_at_available"
    REFUSE = "refuse"


class Returns(Strict):
    reverse_points: Literal["proportional"] = "proportional"
    when_points_already_spent: WhenSpent = WhenSpent.DEBT


class PurchaseSettings(Strict):
    """How purchases are accepted: one dated more than ``max_future_minutes`` after the
    moment it is recorded (or quoted, or imported) is refused (``occurred_in_future``); the
    margin allows for the clocks of tills and shops running a little fast."""

    max_future_minutes: Annotated[int, Field(ge=0, le=10_080, strict=True)] = 10
