"""What the API and the CLI show of a campaign: its definition from the active program, its
status at this moment, and its figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.strict import WHOLE
from patron.programs.schemas import AppliedProgram


class CampaignNames(BaseModel):
    ru: str | None = None
    pl: str | None = None
    en: str | None = None


class CampaignWindow(BaseModel):
    """``start`` and ``end`` as written (local, in ``timezone``), and as UTC instants
    (``[starts_at, ends_at)``)."""

    start: str
    end: str
    timezone: str
    starts_at: datetime
    ends_at: datetime


class CampaignEffect(BaseModel):
    type: str
    value: str


class CampaignLimits(BaseModel):
    per_member: int | None = None
    period: str
    total: int | None = None


class CampaignBudget(BaseModel):
    """``points``: the points budget (``null`` without one); ``spent`` and ``left`` as counted
    by the claims so far (``left`` ``null`` without a points budget). ``money``: the money
    budget (decimal text, ``null`` without one), ``money_spent`` and ``money_left`` as claimed
    for the campaign's cashback so far."""

    points: int | None
    spent: int
    left: int | None
    money: str | None = None
    money_spent: str | None = None
    money_left: str | None = None


class Campaign(BaseModel):
    """A campaign of the active program. ``status`` is the status now (``draft``,
    ``scheduled``, ``active``, ``paused`` or ``ended``); ``written_status`` is what the program
    file says."""

    key: str
    name: str
    names: CampaignNames
    status: str
    written_status: str
    window: CampaignWindow
    trigger: str
    event: str | None = None  # the custom event's type of a ``trigger: event`` campaign
    occasion: dict[str, int] | None = None  # birthday and anniversary: days, abuse guard
    referral_side: str | None = None  # a referral campaign's one side (none: both)
    audience_tiers: list[str] | None
    conditions: dict[str, Any]
    effect: CampaignEffect
    deferred: list[dict[str, Any]]
    priority: int
    stacking: str
    limits: CampaignLimits | None
    budget: CampaignBudget | None
    uses: int
    description: str
    program_version: int
    prize: dict[str, Any] | None = None  # an instant prize: {"every": N} or {"probability": p}
    raffle: dict[str, Any] | None = None  # a raffle: per_purchase or per_amount, winners
    draws: int = 0  # the qualifying purchases an every-N-th prize counted
    seed_hash: str | None = None  # SHA-256 of the committed seed (prize and raffle campaigns)
    seed: str | None = None  # the seed, once the raffle is drawn or the prize window is over


class CampaignStats(BaseModel):
    """Figures of one campaign over every program version: ``participants`` (members it applied
    to), ``applications``, ``points_spent``, ``budget_points`` and ``budget_left`` (``null``
    without a budget), ``money_spent`` (the cashback its ``credit_wallet`` effects credited to
    wallets) and ``revenue``: the totals of the purchases it applied to, in ``currency``;
    ``budget_money``, ``budget_money_spent`` (claimed from it) and ``budget_money_left``
    (``null`` without a money budget). What returns gave back (docs/campaigns.md, "Returns give
    back"): ``points_given_back`` (of ``points_spent``), ``points_net`` (``points_spent`` less
    it: what the campaign still gives, and what its budget counts), ``money_given_back`` (the
    cashback returns took back from wallets, its share) and ``uses_given_back`` (applications
    whose purchase was wholly returned; ``applications`` still counts them)."""

    key: str
    status: str
    participants: int
    applications: int
    points_spent: int
    budget_points: int | None
    budget_left: int | None
    usage_limit: int | None
    money_spent: str
    revenue: str
    currency: str
    budget_money: str | None = None
    budget_money_spent: str | None = None
    budget_money_left: str | None = None
    points_given_back: int = 0
    points_net: int = 0
    money_given_back: str = "0"
    uses_given_back: int = 0


class CampaignChange(BaseModel):
    """The campaign as the new program version has it, and that version (with its diff)."""

    campaign: Campaign
    program: AppliedProgram


class RaffleDraw(BaseModel):
    """``POST /campaigns/{key}/draw``: ``winners`` to draw (1 to 1000; default the
    raffle's)."""

    model_config = ConfigDict(extra="forbid")

    winners: Annotated[int, Field(ge=1, le=1000, strict=True), WHOLE] | None = None


class RafflePrizeGiven(BaseModel):
    """What one winner received, as the draw recorded it: ``kind`` (``points``, ``coupon``
    or ``wallet``), ``points``, the ``reward`` and ``coupon_code``, or the ``amount`` (decimal
    text; ``amount_minor`` in minor units) in ``currency``; ``given`` false and the ``reason``
    when they got nothing (a blocked member, a stock or a money budget used up)."""

    kind: str
    given: bool
    points: int | None = None
    reward: str | None = None
    coupon_code: str | None = None
    amount: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    reason: str | None = None


class RaffleWinner(BaseModel):
    rank: int
    member_id: int
    entries: int
    prize: RafflePrizeGiven | None = None
    """What the winner received (``null``: no prize for their rank, or a draw recorded before
    prizes were stored)."""


class RaffleEntries(BaseModel):
    member_id: int
    entries: int


class Raffle(BaseModel):
    """A raffle campaign's entries and draw. Before the draw: ``entries`` and
    ``participants`` so far and ``seed_hash``; after it also the ``seed``, the ``winners`` in
    order of drawing and ``entries_by_member``, the entries it was drawn from (by member id),
    so that anyone can draw again (docs/campaigns.md, "Raffles")."""

    key: str
    status: str
    entries: int
    participants: int
    winners_wanted: int
    seed_hash: str | None
    drawn: bool
    prize: dict[str, Any] | None = None
    """What each winner receives from Patron (``bonus_points`` or ``issue_reward``), if any."""
    drawn_at: datetime | None = None
    seed: str | None = None
    winners: list[RaffleWinner] = []
    entries_by_member: list[RaffleEntries] = []
    prizes: list[dict[str, Any]] = []
    """The prizes by rank (``raffle.prizes``); a rank none names gets ``prize``."""
    entries_taken_back: int = 0
    """Entries returns took back before the draw (not in ``entries``)."""
    counted: int | None = None
    """After the draw: the entry rows (one per purchase) it counted, ..."""
    entries_digest: str | None = None
    """... and their SHA-256 (docs/campaigns.md, "Raffles": what the draw counted)."""
    not_counted_purchases: int = 0
    """After the draw: purchases whose entries were stored after it (not counted)..."""
    not_counted_entries: int = 0
    """... and their entries."""
