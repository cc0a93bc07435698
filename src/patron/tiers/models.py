from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, UTCDateTime


class TierChange(Base):
    """One move of a member between tiers, with the metric that justified it."""

    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_tier: Mapped[str | None] = mapped_column(String(64))
    to_tier: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300))
    metric: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TierReview(Base):
    """Marks that the tier review of one program ran for one local day, so that the daily
    job moves a member at most one level per review and a second run changes nothing."""

    __tablename__ = "tier_reviews"
    __table_args__ = (UniqueConstraint("program_id", "review_date"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    review_date: Mapped[date] = mapped_column(Date)
    reviewed: Mapped[int] = mapped_column(BigInteger, default=0)
    upgraded: Mapped[int] = mapped_column(BigInteger, default=0)
    downgraded: Mapped[int] = mapped_column(BigInteger, default=0)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
