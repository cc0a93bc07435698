"""Challenges as a program file writes them (``challenges:``): a key, names, a badge, a period,
a goal (a count of a member's purchases, reviews, survey answers or custom events in the
period, or a streak of calendar weeks with one), and a reward. ``docs/campaigns.md``
("Challenges and badges") documents every field; :mod:`patron.challenges` runs them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from patron.kit.strict import Strict
from patron.rules.vocabulary.base import LimitPeriod, Slug
from patron.rules.vocabulary.campaigns import CampaignNames, EventType
from patron.rules.vocabulary.conditions import Conditions
from patron.rules.vocabulary.effects import IssueReward


class ChallengeOf(StrEnum):
    """What a challenge counts: a member's recorded purchase, written review, answered survey,
    or custom event (``POST /events``) of one type."""

    PURCHASE = "purchase"
    REVIEW = "review"
    SURVEY = "survey"
    EVENT = "event"


class ChallengePeriod(StrEnum):
    """The calendar period a count goal counts in (the program's time zone): a week from
    Monday, a month, or the member's whole life (the default)."""

    WEEK = "week"
    MONTH = "month"
    LIFETIME = "lifetime"

    @property
    def limit_period(self) -> LimitPeriod:
        return LimitPeriod(self.value)


class Streak(Strict):
    """``times`` calendar weeks in a row (from Monday, in the program's time zone), each with
    at least one of what the goal counts; a week without one resets the streak."""

    every: Literal["week"] = "week"
    times: Annotated[int, Field(ge=2, le=104)]


class Goal(Strict):
    """Exactly one of ``count`` (so many in the period) and ``streak``. ``event`` names the
    custom event type (only with ``of: event``, and then required); ``when`` holds purchase
    conditions (only with ``of: purchase``): a purchase counts when they hold."""

    count: Annotated[int, Field(ge=1, le=10_000)] | None = None
    streak: Streak | None = None
    of: ChallengeOf = ChallengeOf.PURCHASE
    event: EventType | None = None
    when: Conditions | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.count is None) == (self.streak is None):
            raise ValueError("give exactly one of count and streak")
        if self.of is ChallengeOf.EVENT and self.event is None:
            raise ValueError("event: of: event needs the custom event type")
        if self.of is not ChallengeOf.EVENT and self.event is not None:
            raise ValueError("event: only with of: event")
        if self.when is not None and self.of is not ChallengeOf.PURCHASE:
            raise ValueError("when: purchase conditions only with of: purchase")
        if self.when is not None and self.when.event_attribute_in is not None:
            raise ValueError(
                "when.event_attribute_in: needs a custom event; a goal counts purchases"
            )
        return self

    @property
    def target(self) -> int:
        """What completes the goal: the count, or the streak's weeks."""
        if self.streak is not None:
            return self.streak.times
        assert self.count is not None
        return self.count


class Badge(Strict):
    """What a member earns, once, on completing the challenge: shown on their profile."""

    key: Slug
    name: CampaignNames


class ChallengeReward(Strict):
    """What each completion gives: ``bonus_points`` credited through the award service and/or
    a coupon for the catalogue reward of ``issue_reward`` (``{reward: DISC10}``, as a
    deferred effect writes it; no points are spent); at least one."""

    bonus_points: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = Field(
        None, exclude_if=lambda value: value is None
    )
    issue_reward: IssueReward | None = Field(None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.bonus_points is None and self.issue_reward is None:
            raise ValueError("give bonus_points, issue_reward or both")
        return self

    @property
    def points(self) -> int:
        return self.bonus_points or 0


class Challenge(Strict):
    """One challenge (see the module docstring). ``period`` is ``lifetime`` for a streak (a
    streak completes once). A challenge without a ``badge`` or ``reward`` gives only the
    other; it needs at least one of them."""

    key: Slug
    name: CampaignNames
    period: ChallengePeriod = ChallengePeriod.LIFETIME
    goal: Goal
    badge: Badge | None = None
    reward: ChallengeReward | None = None

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if self.goal.streak is not None and self.period is not ChallengePeriod.LIFETIME:
            raise ValueError("period: a streak challenge is lifetime (it completes once)")
        if self.badge is None and self.reward is None:
            raise ValueError("give a badge, a reward or both")
        return self
