"""The ``abuse`` section of the program file: velocity limits per member and the detection of
buy-earn-return cycles (docs/security.md, "Abuse controls"). Every control is off unless the
program sets it, so a program written before this section behaves as it did."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from patron.programs.strict import WHOLE, Strict

PerHour = Annotated[int, WHOLE, Field(gt=0, le=1_000_000, strict=True)]


class ReturnCycles(Strict):
    """A member with at least ``returns`` returns of purchases that earned points, made
    within the last ``days`` days, each leaving at least ``min_returned_percent`` % of its
    purchase's total refunded (100, the default: only full returns count), is flagged
    (``members.flagged``, reason ``return_cycles``, or ``partial_return_cycles`` when a
    partial return counted); ``block: true`` also blocks them. A flag never changes a
    balance."""

    returns: Annotated[int, WHOLE, Field(ge=2, le=1_000, strict=True)] = 3
    days: Annotated[int, WHOLE, Field(ge=1, le=366, strict=True)] = 30
    block: bool = False
    min_returned_percent: Annotated[int, WHOLE, Field(ge=1, le=100, strict=True)] = 100


class Abuse(Strict):
    """``max_purchases_per_hour``: the most purchases one member may have recorded in any
    60 minutes (counted by when Patron recorded them); ``max_redemptions_per_hour``: the most
    redemptions that spent points. Above either, 429 ``velocity_exceeded`` and nothing is
    written. ``None`` (the default): no limit."""

    max_purchases_per_hour: PerHour | None = None
    max_redemptions_per_hour: PerHour | None = None
    return_cycles: ReturnCycles | None = None
