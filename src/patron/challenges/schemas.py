"""What the API and the console show of a member's challenges and badges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from patron.members.overview import MemberOverview


class ChallengeProgressRead(BaseModel):
    """A member's progress on one challenge of the active program, in the period that holds
    now (``period_key``: ``2026-12``, ``2026-W49``, ``lifetime``). ``goal``: ``count`` (``count``
    of ``target`` counted in the period) or ``streak`` (``count``: the weeks in a row up to now,
    0 once a whole calendar week passed without one; ``last_week``: the Monday of the latest
    week counted). ``completed_at`` (null: not yet) and ``points`` (the reward credited) are
    set on completion; ``badge``: the challenge's badge key (null: none)."""

    key: str
    name: str
    of: str
    event: str | None
    goal: Literal["count", "streak"]
    period: str
    period_key: str
    count: int
    target: int
    last_week: date | None
    completed_at: datetime | None
    points: int
    badge: str | None


class BadgeRead(BaseModel):
    """A badge the member earned: its key and name (the member's language; the key when the
    active program no longer names it), the challenge that gave it, and when."""

    key: str
    name: str
    challenge_key: str
    earned_at: datetime


class CompletionRead(BaseModel):
    """One completion of a challenge (any period): for the member's history."""

    challenge_key: str
    period_key: str
    target: int
    completed_at: datetime
    points: int
    entry_id: int | None


class MemberDetail(MemberOverview):
    """The member with their ``challenges`` (progress on every challenge of the active program
    in the period that holds now) and ``badges`` (earned, oldest first)."""

    challenges: list[ChallengeProgressRead] = Field(default_factory=list)
    badges: list[BadgeRead] = Field(default_factory=list)


class MemberChallenges(BaseModel):
    """``challenges`` and ``badges`` as on the member, and ``completions``: every challenge the
    member completed, in any period, newest first (the member's history of challenges)."""

    challenges: list[ChallengeProgressRead]
    badges: list[BadgeRead]
    completions: list[CompletionRead]
