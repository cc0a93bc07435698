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


class Support(Strict):
    """Support tickets (see docs/support.md). ``priority_targets`` apply instead of
    ``targets`` to members whose tier has the ``priority_support`` perk."""

    targets: SupportTargets = SupportTargets()
    priority_targets: SupportTargets | None = None
    goodwill_cap_points: CapPoints = 1000
