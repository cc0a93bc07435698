"""The campaigns' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from datetime import date, datetime

from patron.kit.outbox import DomainEvent


class CampaignBudgetAlert(DomainEvent):
    """A campaign's budget needs a look. ``alert``:

    * ``spent``: ``spent_points`` reached ``budget.alert_percent`` (default 80) % of
      ``budget_points``, emitted by the claim that crossed it, in its unit of work;
    * ``pacing``: at the rate spent so far (``spent_points`` over ``days_elapsed`` days of the
      window), the budget runs out on ``exhausted_on``, before the window's last day
      ``ends_on``; ``projected_points`` is what the whole window would spend at that rate.
      The daily job emits it (from the window's third day).

    Each alert is emitted once per campaign."""

    type = "campaigns.budget_alert"
    campaign_key: str
    alert: str
    budget_points: int
    spent_points: int
    percent_spent: int
    projected_points: int | None = None
    exhausted_on: date | None = None
    ends_on: date | None = None
    days_elapsed: int | None = None


class CampaignRaffleDrawn(DomainEvent):
    """A raffle was drawn (``patron campaigns draw``), once: the ``winners`` (member ids in
    order of drawing) from ``entries`` entries of ``participants`` members, and the seed
    revealed with it (``seed``, whose SHA-256 is ``seed_hash``), so that anyone can draw again
    (docs/campaigns.md, "Raffles")."""

    type = "campaigns.raffle_drawn"
    campaign_key: str
    winners: list[int]
    entries: int
    participants: int
    seed_hash: str
    seed: str


class CustomEventRecorded(DomainEvent):
    """A member's custom event was recorded (``POST /events``; not for a retry): its id, its
    ``event_type`` (``social_share``) and when it happened. Its campaigns have applied in the
    same unit of work; the challenges that count it advance from this event."""

    type = "events.recorded"
    member_id: int
    event_id: int
    event_type: str
    occurred_at: datetime
