"""The campaigns' events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from patron.kit.outbox import DomainEvent


class CampaignBudgetAlert(DomainEvent):
    """A campaign's budget needs a look. ``alert``:

    * ``spent``: ``spent_points`` reached ``budget.alert_percent`` (default 80) % of
      ``budget_points``, emitted by the claim that crossed it, in its unit of work;
    * ``pacing``: at the rate spent so far (``spent_points`` over ``days_elapsed`` days of the
      window), the budget runs out on ``exhausted_on``, before the window's last day
      ``ends_on``; ``projected_points`` is what the whole window would spend at that rate.
      The daily job emits it (from the window's third day).

    ``budget`` says which budget: ``points`` (the fields above) or ``money`` (the cashback
    budget: ``budget_money``, ``spent_money`` and ``projected_money`` as decimal text in
    ``currency``; ``budget_points`` and ``spent_points`` are then null).

    Each alert is emitted once per campaign and budget."""

    type = "campaigns.budget_alert"
    campaign_key: str
    alert: str
    budget_points: int | None
    spent_points: int | None
    percent_spent: int
    projected_points: int | None = None
    exhausted_on: date | None = None
    ends_on: date | None = None
    days_elapsed: int | None = None
    budget: str = "points"
    budget_money: str | None = None
    spent_money: str | None = None
    projected_money: str | None = None
    currency: str | None = None


class CampaignApplied(DomainEvent):
    """A campaign applied to a member, once per application: on a purchase (``trigger``
    ``purchase``, ``purchase_id``, ``occurrence`` ``purchase:<id>``) in the purchase's unit of
    work, or on another trigger (``signup``, ``schedule``, ...; ``occurrence`` as in
    ``campaign_awards``: ``signup``, ``schedule:2027-01-04``, ``event:42``) with its credit.
    ``points`` it added; ``cashback`` the money its ``credit_wallet`` effects were claimed
    for (decimal text in ``currency``; ``"0.00"`` without them), credited after the purchase
    (``wallet.credited``), or with the application on another trigger; ``rewards`` the
    reward codes of its ``issue_reward`` effects (a coupon each: ``rewards.granted``, after
    the purchase or with the application on another trigger)."""

    type = "campaigns.applied"
    campaign_key: str
    member_id: int
    trigger: str
    occurrence: str
    points: int
    purchase_id: int | None = None
    cashback: str
    currency: str
    rewards: list[str] = Field(default_factory=list)


class CampaignMessageDue(DomainEvent):
    """A deferred ``send_message`` applied: the member is to get the program's message
    ``message`` (an id of ``messages:`` in program version ``program_version``), once per
    application, keyed ``key`` (``deferred:<purchase>:<rule or campaign:key>:<index>``, or
    ``deferred:<member>:<occurrence>:campaign:<key>:<index>`` on another trigger). ``source``
    is ``rule`` or ``campaign`` and ``source_id`` its id or key; ``points`` what it gave this
    time; ``coupon_code`` and ``reward_key`` the coupon its ``issue_reward`` issued (null
    without one). The handler ``notifications.email.campaign`` renders and queues it, with
    the member's consent (docs/campaigns.md, "Messages to members")."""

    type = "campaigns.message_due"
    member_id: int
    message: str
    program_version: int
    key: str
    source: str
    source_id: str
    points: int
    purchase_id: int | None = None
    occurrence: str | None = None
    coupon_code: str | None = None
    reward_key: str | None = None


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


class CampaignPrizeReturned(DomainEvent):
    """A purchase that won an instant prize was fully returned: its prize's points went back
    with the purchase's, and each coupon the prize gave for it is named with what happened to
    it (``outcome``: ``cancelled``, ``already_used``, ``expired``, or ``not_issued``, then
    never issued), once (docs/campaigns.md, "Instant prizes")."""

    type = "campaigns.prize_returned"
    campaign_key: str
    member_id: int
    purchase_id: int
    coupons: list[dict[str, str]]


class CustomEventRecorded(DomainEvent):
    """A member's custom event was recorded (``POST /events``; not for a retry): its id, its
    ``event_type`` (``social_share``) and when it happened. Its campaigns have applied in the
    same unit of work; the challenges that count it advance from this event."""

    type = "events.recorded"
    member_id: int
    event_id: int
    event_type: str
    occurred_at: datetime
