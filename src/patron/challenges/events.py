"""The challenges' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from patron.kit.outbox import DomainEvent


class ChallengeCompleted(DomainEvent):
    """The member completed challenge ``challenge_key`` in period ``period_key`` (``2026-12``,
    ``2026-W49``, ``lifetime``): ``points`` were credited (0: the challenge gives none, or the
    award was refused), ``badge_key`` is the challenge's badge (null: none), ``reward_key``
    the catalogue reward whose coupon it gave (null: none; the coupon's ``rewards.granted``,
    source ``challenge``, comes before it). Once per member, challenge and period."""

    type = "challenges.completed"
    member_id: int
    challenge_key: str
    period_key: str
    target: int
    points: int
    entry_id: int | None
    badge_key: str | None
    reward_key: str | None = None


class BadgeEarned(DomainEvent):
    """The member earned badge ``badge_key`` by completing ``challenge_key``; once per member
    and badge, ever."""

    type = "badges.earned"
    member_id: int
    badge_key: str
    challenge_key: str
