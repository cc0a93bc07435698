"""Campaigns as a program file writes them (``campaigns:``): a key, names, a window in the
program's time zone, a status, an audience, a trigger, conditions, a points effect and
deferred effects, a priority, a stacking policy, limits and a budget.

Campaigns run on a purchase (the default), on a member's signup, birthday or first-purchase
anniversary, on a review or a survey answer, on a custom event (``trigger: event`` with
``event: social_share``, posted to ``POST /events``), on a rewarded referral (both sides) and
on a schedule (``trigger: schedule`` with ``schedule: {every: week, weekday: mon}``,
:mod:`patron.rules.vocabulary.schedules`). ``docs/campaigns.md`` documents every field.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, model_validator

from patron.kit.instant import YEARS_IN_SCHEMA, checked_local
from patron.kit.strict import WHOLE, Strict
from patron.rules.vocabulary.audience import MemberAudience
from patron.rules.vocabulary.base import (
    AttributeName,
    AttributeValues,
    Slug,
)
from patron.rules.vocabulary.campaign_limits import Budget, CampaignLimits
from patron.rules.vocabulary.conditions import Conditions
from patron.rules.vocabulary.effects import Deferred, Effect, EffectType
from patron.rules.vocabulary.prizes import Prize, Raffle
from patron.rules.vocabulary.rules import Trigger
from patron.rules.vocabulary.schedules import CampaignSchedule

RUNNING_TRIGGERS = frozenset(
    {
        Trigger.PURCHASE,
        Trigger.SIGNUP,
        Trigger.BIRTHDAY,
        Trigger.ANNIVERSARY,
        Trigger.REVIEW,
        Trigger.SURVEY,
        Trigger.EVENT,
        Trigger.REFERRAL,
        Trigger.SCHEDULE,
    }
)
DATE_TRIGGERS = frozenset({Trigger.BIRTHDAY, Trigger.ANNIVERSARY})
EventType = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
]
DEFAULT_BIRTH_DATE_UNCHANGED_DAYS = 30


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
    return checked_local(value)  # the zone's offset and an end's day stay in the calendar


LocalMoment = Annotated[datetime | date, BeforeValidator(_moment), YEARS_IN_SCHEMA]


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


class NewMembers(Strict):
    """Members enrolled within ``days`` days before the trigger's moment."""

    days: Annotated[int, WHOLE, Field(ge=1, le=3650, strict=True)]


class Audience(MemberAudience):
    """Who the campaign is for: members of the listed tiers, segments and flags
    (:mod:`patron.rules.vocabulary.audience`), members enrolled recently (``new_members``)
    and members whose free attributes hold one of the listed values (``attributes: {city:
    [Warsaw, Kraków]}``); every member when left out. Each kind written must hold. A campaign
    applies to members only. ``tiers`` is written out when null, as it always was (stored
    documents keep their checksums)."""

    tiers: Annotated[list[str], Field(min_length=1)] | None = None
    new_members: NewMembers | None = Field(default=None, exclude_if=lambda value: value is None)
    attributes: (
        Annotated[dict[AttributeName, AttributeValues], Field(min_length=1, max_length=20)] | None
    ) = Field(default=None, exclude_if=lambda value: value is None)

    @property
    def everyone(self) -> bool:
        return super().everyone and self.new_members is None and self.attributes is None


class EarlyAccess(Strict):
    """The closed club's early access: the members of ``audience`` may use the campaign from
    ``start`` (a local moment before the window's start), everyone else from the window's."""

    audience: MemberAudience
    start: LocalMoment

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if self.audience.everyone:
            raise ValueError("audience: name the tiers, segments or flags that get early access")
        return self

    def bound(self, timezone: str) -> datetime:
        return _start_of(self.start, end=False).replace(tzinfo=ZoneInfo(timezone))


class Occasion(Strict):
    """The window of a date trigger: ``days`` before and after the birthday (or the first
    purchase's anniversary), read in the program's time zone; a 29 February falls on
    28 February in other years. ``birth_date_unchanged_days`` (birthday only, default 30):
    no bonus while the birth date was changed fewer than that many days ago."""

    days: Annotated[int, WHOLE, Field(ge=0, le=31, strict=True)] = 0
    birth_date_unchanged_days: Annotated[int, WHOLE, Field(ge=0, le=3650, strict=True)] | None = (
        None
    )


class ReferralParty(StrEnum):
    """The side of a referral a ``trigger: referral`` campaign rewards (none: both)."""

    REFERRER = "referrer"
    REFEREE = "referee"


class Campaign(Strict):
    key: Slug
    name: CampaignNames
    status: CampaignStatus = CampaignStatus.ACTIVE
    window: Window
    audience: Audience = Audience()
    early_access: EarlyAccess | None = Field(default=None, exclude_if=lambda value: value is None)
    trigger: Trigger = Trigger.PURCHASE
    event: EventType | None = Field(default=None, exclude_if=lambda value: value is None)
    occasion: Occasion | None = Field(default=None, exclude_if=lambda value: value is None)
    schedule: CampaignSchedule | None = Field(default=None, exclude_if=lambda value: value is None)
    referral_side: ReferralParty | None = Field(
        default=None, exclude_if=lambda value: value is None
    )
    when: Conditions = Conditions()
    effect: Effect | None = Field(default=None, exclude_if=lambda value: value is None)
    prize: Prize | None = Field(default=None, exclude_if=lambda value: value is None)
    raffle: Raffle | None = Field(default=None, exclude_if=lambda value: value is None)
    deferred: list[Deferred] = Field(default_factory=list, exclude_if=lambda value: not value)
    priority: int = 0
    stacking: Stacking = Stacking.STACKABLE
    limits: CampaignLimits | None = None
    budget: Budget | None = None
    description: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = self._trigger_problems() + self._prize_problems()
        if self.effect is None:
            return self._raise(problems)
        effect = self.effect.typed()
        if effect.type is not EffectType.BONUS_POINTS and effect.value <= 1:
            problems.append(
                f"effect.{effect.type.value}: a campaign's multiplier must be above 1 "
                "(it adds points; it never takes them away)"
            )
        return self._raise(problems)

    def _raise(self, problems: list[str]) -> Self:
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _prize_problems(self) -> list[str]:
        """An instant prize or a raffle: purchase campaigns only, not both; the effect may
        then be left out (a prize of a coupon only, a raffle of entries only), and so may a
        campaign on another trigger that gives deferred effects (a birthday coupon only)."""
        problems: list[str] = []
        drawn = self.prize is not None or self.raffle is not None
        if self.prize is not None and self.raffle is not None:
            problems.append("prize: a campaign is an instant prize or a raffle, not both")
        if drawn and self.trigger is not Trigger.PURCHASE:
            problems.append("prize, raffle: only purchase campaigns draw prizes or earn entries")
        given_only = self.trigger is not Trigger.PURCHASE and bool(self.deferred)
        if self.effect is None and not drawn and not given_only:
            problems.append(
                "effect: give the points effect (a prize or a raffle campaign, or a campaign "
                "on another trigger with deferred effects, may leave it out)"
            )
        if self.prize is not None and self.effect is None and not self.deferred:
            problems.append("prize: give the prize as effect (bonus_points) or deferred effects")
        return problems

    def _trigger_problems(self) -> list[str]:
        trigger = self.trigger
        if trigger not in RUNNING_TRIGGERS:
            return [
                f"trigger: {trigger.value} campaigns are not done yet (purchase, signup, "
                "birthday, anniversary, review, survey, event, referral and schedule run)"
            ]
        problems: list[str] = []
        if (trigger is Trigger.EVENT) != (self.event is not None):
            problems.append("event: give the custom event's type exactly when the trigger is event")
        if (trigger is Trigger.SCHEDULE) != (self.schedule is not None):
            problems.append("schedule: give the schedule exactly when the trigger is schedule")
        if self.referral_side is not None and trigger is not Trigger.REFERRAL:
            problems.append("referral_side: only referral campaigns have one")
        if self.occasion is not None and trigger not in DATE_TRIGGERS:
            problems.append("occasion: only birthday and anniversary campaigns have one")
        if (
            self.occasion is not None
            and self.occasion.birth_date_unchanged_days is not None
            and trigger is not Trigger.BIRTHDAY
        ):
            problems.append("occasion.birth_date_unchanged_days: only for the birthday trigger")
        if self.early_access is not None and _start_of(
            self.early_access.start, end=False
        ) >= _start_of(self.window.start, end=False):
            problems.append("early_access.start: must be before window.start")
        problems += [
            f"when.{item.type.value}: needs a custom event; the trigger is {trigger.value}"
            for item in self.when.items()
            if item.type.needs_event and trigger is not Trigger.EVENT
        ]
        if trigger is Trigger.PURCHASE:
            return problems
        if self.early_access is not None:
            problems.append(f"early_access: for purchase campaigns only, not {trigger.value}")
        problems += [
            f"when.{item.type.value}: needs a purchase; the trigger is {trigger.value}"
            for item in self.when.items()
            if item.type.needs_purchase
        ]
        effect = self.effect.typed().type if self.effect is not None else EffectType.BONUS_POINTS
        if effect is not EffectType.BONUS_POINTS:
            problems.append(
                f"effect.{effect.value}: needs a purchase; a {trigger.value} campaign gives "
                "bonus_points"
            )
        problems += [
            f"deferred[{index}].credit_wallet.percent: needs a purchase; a {trigger.value} "
            "campaign credits an amount"
            for index, item in enumerate(self.deferred)
            if item.credit_wallet is not None and item.credit_wallet.percent is not None
        ]
        return problems

    @property
    def rewards_issued(self) -> list[str]:
        """The reward codes of its ``issue_reward`` deferred effects, in order."""
        return [item.issue_reward.reward for item in self.deferred if item.issue_reward]

    @property
    def unchanged_days(self) -> int:
        """The birthday's abuse guard in days (0: none)."""
        if self.occasion is None or self.occasion.birth_date_unchanged_days is None:
            return DEFAULT_BIRTH_DATE_UNCHANGED_DAYS
        return self.occasion.birth_date_unchanged_days

    @property
    def window_days(self) -> int:
        return self.occasion.days if self.occasion is not None else 0

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
