"""The campaigns' tables: the counters that limits and budgets are claimed from, the members'
usage per period, and one row per application of a campaign to a purchase (for the stats).

The campaigns themselves live in the program file (``programs.schema.Program.campaigns``);
rows here are keyed by the program and the campaign's key, so a campaign keeps its counters
across program versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime


class CampaignCounter(Base):
    """Applications and points given by a campaign in all: claimed atomically
    (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``) in the purchase's transaction, net of
    what returns gave back (:mod:`patron.campaigns.give_back`). Kept only for campaigns with a
    global limit or a budget."""

    __tablename__ = "campaign_counters"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), primary_key=True
    )
    campaign_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    uses: Mapped[int] = mapped_column(BigInteger, default=0)
    points_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    # when the budget alerts were emitted (``campaigns.budget_alert``, once each; migration 0022)
    spent_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    pacing_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # qualifying purchases counted by an every-N-th instant prize (migration 0026)
    draws: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # the money (minor units) claimed for the campaign's cashback, and when the money budget's
    # alerts were emitted (migration 0030)
    money_spent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    money_spent_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    money_pacing_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class CampaignMemberUsage(Base):
    """Applications of a campaign to one member in one period (key as in
    :func:`patron.rules.periods.limit_period_key`)."""

    __tablename__ = "campaign_member_usages"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    uses: Mapped[int] = mapped_column(BigInteger, default=0)


class CampaignApplication(Base):
    """One campaign applied to one purchase: the points it added and the purchase's total."""

    __tablename__ = "campaign_applications"
    __table_args__ = (
        UniqueConstraint("purchase_id", "campaign_key"),
        Index("ix_campaign_applications_program_id_campaign_key", "program_id", "campaign_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    campaign_key: Mapped[str] = mapped_column(String(64))
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(BigInteger)
    revenue: Mapped[int] = mapped_column(BigInteger)  # the purchase's total, minor units
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # what the purchase claimed (migration 0036): the counter row, the cashback claimed from the
    # money budget (minor units), the member's usage row of the period; and what returns gave
    # back of it (:mod:`patron.campaigns.give_back`)
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    money: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    period_key: Mapped[str | None] = mapped_column(String(16), default=None)
    points_returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    money_returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    uses_returned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CampaignAward(Base):
    """One campaign applied to a member on a trigger other than a purchase (signup, birthday,
    anniversary, review, survey, a custom event): ``occurrence`` names what made it unique
    (``signup``, ``birthday:2027``, ``review:17``, ``event:42``), so a replayed trigger finds
    its row and applies nothing twice; ``entry_id`` is the ledger entry it credited (null for
    a campaign without points, whose deferred effects are all it gives)."""

    __tablename__ = "campaign_awards"
    __table_args__ = (
        UniqueConstraint("program_id", "campaign_key", "member_id", "occurrence"),
        Index("ix_campaign_awards_program_id_campaign_key", "program_id", "campaign_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    campaign_key: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))
    occurrence: Mapped[str] = mapped_column(String(160))
    points: Mapped[int] = mapped_column(BigInteger)
    # the ledger entry it credited; null when it gave no points, only deferred effects (0037)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomEvent(Base):
    """A custom event posted for a member (``POST /events``): idempotent on
    ``idempotency_key`` within the program; ``fingerprint`` is the SHA-256 of the body, and
    ``result`` the answer given the first time (given again to a retry)."""

    __tablename__ = "custom_events"
    __table_args__ = (UniqueConstraint("program_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CampaignSeed(Base):
    """The secret seed of an instant prize or raffle campaign, committed when the program
    version that holds the campaign is applied: ``seed_hash`` (SHA-256 of ``seed``) is shown
    from then on, ``seed`` only once the raffle is drawn or the prize campaign's window is
    over (:mod:`patron.campaigns.prizes`)."""

    __tablename__ = "campaign_seeds"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), primary_key=True
    )
    campaign_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seed: Mapped[str] = mapped_column(String(64))
    seed_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RaffleEntry(Base):
    """The entries one purchase earned in a raffle campaign: ``entries`` as earned,
    ``taken_back`` of them by returns before the draw (migration 0033), and ``counted_at``
    when the draw counted the row (``null``: not counted, as for a purchase recorded after the
    draw)."""

    __tablename__ = "raffle_entries"
    __table_args__ = (
        UniqueConstraint("purchase_id", "campaign_key"),
        Index("ix_raffle_entries_program_id_campaign_key", "program_id", "campaign_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    campaign_key: Mapped[str] = mapped_column(String(64))
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    entries: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_back: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RaffleDraw(Base):
    """A raffle's draw, once: the entries it was drawn from (``tickets``, ``[[member id,
    entries], ...]`` by member id) and the ``winners`` (member ids in order of drawing);
    since migration 0033 also ``prizes`` (what each winner received, by rank), ``counted``
    (the entry rows it counted) and ``digest`` (their SHA-256; ``patron.campaigns.raffles``)."""

    __tablename__ = "raffle_draws"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), primary_key=True
    )
    campaign_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)
    tickets: Mapped[list[Any]] = mapped_column(JsonType)
    winners: Mapped[list[Any]] = mapped_column(JsonType)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_by: Mapped[str] = mapped_column(String(200))
    prizes: Mapped[list[Any] | None] = mapped_column(JsonType, default=None)
    counted: Mapped[int | None] = mapped_column(BigInteger, default=None)
    digest: Mapped[str | None] = mapped_column(String(64), default=None)
