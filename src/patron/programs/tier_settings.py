"""The program file's ``tiers:`` section: levels by threshold, what qualifies and over which
window (``docs/program.md``, Tiers). :mod:`patron.programs.schema` puts it in a program."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from patron.programs.strict import Strict
from patron.rules.vocabulary.base import Multiplier, Slug


class QualifyOn(StrEnum):
    POINTS_EARNED = "points_earned"
    MONEY_SPENT = "money_spent"


class Downgrade(StrEnum):
    AT_REVIEW = "at_review"
    NEVER = "never"


_ROLLING = re.compile(r"^rolling_([0-9]{1,3})_months$")


class TierLevel(Strict):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    threshold: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    earn_multiplier: Multiplier = Decimal(1)
    perks: list[str] = Field(default_factory=list)


class Tiers(Strict):
    """Levels in ascending threshold order. Below the first threshold a member has no tier.

    ``threshold`` is points for ``points_earned`` and a money amount for ``money_spent``.
    ``window``: ``lifetime``, ``calendar_year`` or ``rolling_N_months``.
    """

    qualify_on: QualifyOn = QualifyOn.POINTS_EARNED
    window: str = "lifetime"
    downgrade: Downgrade = Downgrade.AT_REVIEW
    # Whether points carried over by an import (``opening`` entries) count toward qualification.
    opening_points_qualify: bool = False
    levels: list[TierLevel] = Field(min_length=1)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        match = _ROLLING.fullmatch(value)
        if value in ("lifetime", "calendar_year") or (match and 0 < int(match.group(1)) <= 120):
            return value
        raise ValueError("must be lifetime, calendar_year or rolling_N_months (N from 1 to 120)")

    @property
    def rolling_months(self) -> int | None:
        match = _ROLLING.fullmatch(self.window)
        return int(match.group(1)) if match else None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        ids = [level.id for level in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError("levels: tier ids must be unique")
        thresholds = [level.threshold for level in self.levels]
        if any(b <= a for a, b in itertools.pairwise(thresholds)):
            raise ValueError("levels: tier thresholds must strictly increase")
        if self.qualify_on is QualifyOn.POINTS_EARNED and any(t != int(t) for t in thresholds):
            raise ValueError("levels: points thresholds must be whole numbers")
        return self

    def level(self, tier_id: str | None) -> TierLevel | None:
        return next((level for level in self.levels if level.id == tier_id), None)
