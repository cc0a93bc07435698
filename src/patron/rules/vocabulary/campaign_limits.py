"""A campaign's limits (applications per member per period, and in all) and its budget (the
most points and money it may give, and the share of it at which it alerts), as a program
file writes them (``campaigns[].limits``, ``campaigns[].budget``; ``docs/campaigns.md``)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from patron.kit.strict import WHOLE, Strict
from patron.rules.vocabulary.base import LimitPeriod, MoneyAmount

Count = Annotated[int, WHOLE, Field(gt=0, le=1_000_000_000, strict=True)]


class CampaignLimits(Strict):
    """``per_member`` applications per member per ``period`` (calendar periods in the
    program's time zone); ``total`` applications in all (the global usage limit)."""

    per_member: Count | None = None
    period: LimitPeriod = LimitPeriod.LIFETIME
    total: Count | None = None

    @model_validator(mode="after")
    def _some(self) -> Self:
        if self.per_member is None and self.total is None:
            raise ValueError("give per_member, total or both")
        return self


DEFAULT_ALERT_PERCENT = 80


class Budget(Strict):
    """The most points (``points``) and/or money (``money``, the cashback of the campaign's
    ``credit_wallet`` effects, in the program's currency) the campaign may give in all (over
    every version of the program). ``alert_percent`` (default 80): the share of each budget
    whose spending emits a ``campaigns.budget_alert`` (``alert: spent``)."""

    points: Count | None = Field(None, exclude_if=lambda value: value is None)
    money: MoneyAmount | None = Field(None, exclude_if=lambda value: value is None)
    alert_percent: Annotated[int, WHOLE, Field(ge=1, le=100, strict=True)] | None = Field(
        None, exclude_if=lambda value: value is None
    )

    @model_validator(mode="after")
    def _some(self) -> Self:
        if self.points is None and self.money is None:
            raise ValueError("give points, money or both")
        if self.money is not None and self.money <= 0:
            raise ValueError("money: must be greater than 0")
        return self

    @property
    def percent(self) -> int:
        return self.alert_percent if self.alert_percent is not None else DEFAULT_ALERT_PERCENT

    @property
    def alert_at(self) -> int | None:
        """The points spent from which the spent alert is due (rounded up); ``None`` without
        a points budget."""
        return None if self.points is None else alert_share(self.points, self.percent)


def alert_share(budget: int, percent: int) -> int:
    """``percent`` % of ``budget``, rounded up."""
    return -(-budget * percent // 100)
