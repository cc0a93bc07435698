"""The ``segments:`` section of a program file: the RFM map and the thresholds of the groups.

Every field has a default, so a program without the section (or with only some fields) gets
the documented defaults of `docs/segments.md`. Shares and rates are exact decimals, as
everywhere in a program file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from patron.programs.strict import Strict

SegmentName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Share = Annotated[Decimal, Field(gt=0, le=1, decimal_places=4, allow_inf_nan=False)]

SCORES = range(1, 6)
CELLS = tuple(f"{r}{f}" for r in SCORES for f in SCORES)

# The well-known map of the 25 (R, F) cells; a cell is written "RF" (recency score first).
DEFAULT_RFM_GRID: dict[str, list[str]] = {
    "hibernating": ["11", "12", "21", "22"],
    "at_risk": ["13", "14", "23", "24"],
    "cant_lose": ["15", "25"],
    "about_to_sleep": ["31", "32"],
    "need_attention": ["33"],
    "loyal": ["34", "35", "44", "45"],
    "promising": ["41"],
    "new": ["51"],
    "potential_loyalist": ["42", "43", "52", "53"],
    "champion": ["54", "55"],
}


class RegularBuyers(Strict):
    """A regular buyer has at least ``min_purchases`` purchases, a mean interval between them
    of at most ``max_mean_interval_days`` and intervals whose coefficient of variation
    (population standard deviation / mean) is at most ``max_interval_variation``."""

    min_purchases: Annotated[int, Field(ge=2, le=1000, strict=True)] = 3
    max_mean_interval_days: Annotated[int, Field(gt=0, le=3650, strict=True)] = 60
    max_interval_variation: Annotated[
        Decimal, Field(ge=0, le=10, decimal_places=4, allow_inf_nan=False)
    ] = Decimal("0.5")


class SegmentSettings(Strict):
    grid: dict[SegmentName, list[str]] = Field(default_factory=lambda: dict(DEFAULT_RFM_GRID))
    high_value_share: Share = Decimal("0.2")
    regular: RegularBuyers = RegularBuyers()
    category_lover_share: Share = Decimal("0.5")
    at_risk_p_alive: Share = Decimal("0.5")
    clv_horizon_days: Annotated[int, Field(gt=0, le=3650, strict=True)] = 365
    clv_discount_rate: Annotated[
        Decimal, Field(ge=0, lt=1, decimal_places=4, allow_inf_nan=False)
    ] = Decimal("0.01")

    @field_validator("grid", mode="before")
    @classmethod
    def _cells_as_text(cls, value: Any) -> Any:
        """YAML reads ``[55, 54]`` as numbers; a cell is the text "55" either way."""
        if isinstance(value, dict):
            return {
                name: [str(cell) if isinstance(cell, int) else cell for cell in cells]
                if isinstance(cells, list)
                else cells
                for name, cells in value.items()
            }
        return value

    @model_validator(mode="after")
    def _every_cell_once(self) -> Self:
        seen: dict[str, str] = {}
        problems: list[str] = []
        for name, cells in self.grid.items():
            for cell in cells:
                if cell not in CELLS:
                    problems.append(f"grid.{name}: {cell!r} is not a cell RF with R, F in 1-5")
                elif cell in seen:
                    problems.append(f"grid.{name}: cell {cell} is already in {seen[cell]}")
                else:
                    seen[cell] = name
        missing = [cell for cell in CELLS if cell not in seen]
        if missing:
            problems.append(f"grid: cells {', '.join(missing)} belong to no segment")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def segment_of(self) -> dict[tuple[int, int], str]:
        """The map (R, F) -> segment name, all 25 cells."""
        return {
            (int(cell[0]), int(cell[1])): name
            for name, cells in self.grid.items()
            for cell in cells
        }
