"""Campaigns as a program file writes them (``campaigns:``): a key, names, a window in the
program's time zone, a status, an audience, a trigger, conditions, a points effect and
deferred effects, a priority, a stacking policy, limits and a budget.

Only ``trigger: purchase`` campaigns run yet; the others are refused by validation rather
than stored and silently ignored. ``docs/campaigns.md`` documents every field.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, model_validator

from patron.kit.strict import WHOLE, Strict
from patron.rules.vocabulary.base import LimitPeriod, Slug
from patron.rules.vocabulary.conditions import Conditions
from patron.rules.vocabulary.effects import Deferred, Effect, EffectType
from patron.rules.vocabulary.rules import Trigger


class CampaignStatus(StrEnum):
    """Written in the file: ``draft`` (never runs), ``scheduled`` or ``active`` (runs inside its
    window; the two are the same when written), ``paused`` (does not run until resumed) and
    ``ended`` (ended early). At a given moment an ``active`` campaign is reported
    ``scheduled`` before its window and ``ended`` after it (:meth:`Campaign.status_at`)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class Stacking(StrEnum):
    """How a campaign combines with the other campaigns a purchase qualifies for.

    ``exclusive``: it applies alone (the first exclusive one by priority wins, and no other
    campaign applies); ``stackable``: it applies with every other stackable one;
    ``best_of``: of the qualifying ``best_of`` campaigns only the one that adds the most points
    applies; ``priority``: of the qualifying ``priority`` campaigns only the first by priority
    applies. ``best_of`` and ``priority`` winners stack with the stackable campaigns."""

    EXCLUSIVE = "exclusive"
    STACKABLE = "stackable"
    BEST_OF = "best_of"
    PRIORITY = "priority"


def _moment(value: Any) -> Any:
    """A local date (``2026-12-01``) or local date and time (``2026-12-01 10:00``), no offset."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: date = (
                datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
            )
        except ValueError as error:
            raise ValueError(
                "must be a local date (2026-12-01) or date and time (2026-12-01 10:00)"
            ) from error
        value = parsed
    if isinstance(value, datetime) and value.tzinfo is not None:
        raise ValueError("write the local time in the program's time zone, without an offset")
    if not isinstance(value, date):
        raise ValueError("must be a local date (2026-12-01) or date and time (2026-12-01 10:00)")
    return value


LocalMoment = Annotated[datetime | date, BeforeValidator(_moment)]


def _start_of(value: date, *, end: bool) -> datetime:
    """A written moment as a naive local datetime; a date at the end of a window means the end
    of that day (the window includes it)."""
    if isinstance(value, datetime):
        return value
    moment = datetime.combine(value, time())
    return moment + timedelta(days=1) if end else moment


class Window(Strict):
    """``[start, end)`` read in the program's time zone. A date as ``start`` is that day's
    midnight; a date as ``end`` includes that whole day."""

    start: LocalMoment
    end: LocalMoment

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if _start_of(self.start, end=False) >= _start_of(self.end, end=True):
            raise ValueError("end: must be after start")
        return self

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The window as aware instants (``[start, end)``)."""
        zone = ZoneInfo(timezone)
        start = _start_of(self.start, end=False).replace(tzinfo=zone)
        end = _start_of(self.end, end=True).replace(tzinfo=zone)
        return start, end


Text = Annotated[str, Field(min_length=1, max_length=200)]


class CampaignNames(Strict):
    """The campaign's name per language; at least one. A member sees their language, else the
    program's default language, else the first given (ru, pl, en)."""

    ru: Text | None = None
    pl: Text | None = None
    en: Text | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if self.ru is None and self.pl is None and self.en is None:
            raise ValueError("give the name in at least one of ru, pl, en")
        return self

    def pick(self, language: str) -> str:
        chosen = getattr(self, language, None)
        if isinstance(chosen, str):
            return chosen
        return next(name for name in (self.ru, self.pl, self.en) if name is not None)


class Audience(Strict):
    """Who the campaign is for: members of the listed tiers (every member when left out).
    A campaign applies to members' purchases only."""

    tiers: Annotated[list[str], Field(min_length=1)] | None = None


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


class Budget(Strict):
    """The most points the campaign may give in all (over every version of the program)."""

    points: Count


class Campaign(Strict):
    key: Slug
    name: CampaignNames
    status: CampaignStatus = CampaignStatus.ACTIVE
    window: Window
    audience: Audience = Audience()
    trigger: Trigger = Trigger.PURCHASE
    when: Conditions = Conditions()
    effect: Effect
    deferred: list[Deferred] = Field(default_factory=list, exclude_if=lambda value: not value)
    priority: int = 0
    stacking: Stacking = Stacking.STACKABLE
    limits: CampaignLimits | None = None
    budget: Budget | None = None
    description: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        if self.trigger is not Trigger.PURCHASE:
            problems.append(
                f"trigger: only purchase campaigns run yet ({self.trigger.value} is not done; "
                "rule_sets hold rules of the other triggers)"
            )
        effect = self.effect.typed()
        if effect.type is not EffectType.BONUS_POINTS and effect.value <= 1:
            problems.append(
                f"effect.{effect.type.value}: a campaign's multiplier must be above 1 "
                "(it adds points; it never takes them away)"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def status_at(self, moment: datetime, timezone: str) -> CampaignStatus:
        """The status at ``moment``: the written one, unless an active (or scheduled) campaign is
        before its window (``scheduled``) or after it (``ended``)."""
        if self.status in (CampaignStatus.DRAFT, CampaignStatus.PAUSED, CampaignStatus.ENDED):
            return self.status
        start, end = self.window.bounds(timezone)
        if moment < start:
            return CampaignStatus.SCHEDULED
        if moment >= end:
            return CampaignStatus.ENDED
        return CampaignStatus.ACTIVE
