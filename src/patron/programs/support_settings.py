"""The ``support`` section of the program file: targets and limits of support tickets
(docs/support.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from patron.programs.strict import Strict

Hours = Annotated[int, Field(gt=0, le=8760, strict=True)]
CapPoints = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class SupportTargets(Strict):
    """Service-level targets of a support ticket, in calendar hours from its creation."""

    first_response_hours: Hours = 24
    resolution_hours: Hours = 24


Days = Annotated[int, Field(gt=0, le=3660, strict=True)]


class GoodwillLimits(Strict):
    """What staff may give beyond the per-ticket cap (issue 16): per member within a period,
    per staff key per day (in the program's time zone), and the size above which a staff
    credit waits for an admin's approval. Pending credits count against every cap."""

    member_cap_points: CapPoints = 2000
    member_period_days: Days = 30
    daily_cap_points_per_key: CapPoints = 5000
    approval_above_points: CapPoints = 500


class Support(Strict):
    """Support tickets (see docs/support.md). ``priority_targets`` apply instead of
    ``targets`` to members whose tier has the ``priority_support`` perk."""

    targets: SupportTargets = SupportTargets()
    priority_targets: SupportTargets | None = None
    goodwill_cap_points: CapPoints = 1000
    # left out of the stored document while default, so older programs keep their checksums
    goodwill: GoodwillLimits = Field(
        default_factory=GoodwillLimits, exclude_if=lambda value: value == GoodwillLimits()
    )
