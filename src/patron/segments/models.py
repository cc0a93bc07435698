"""One row of RFM scores, behavioural groups and churn scores per member, written by the
segments refresh (``patron jobs run``) and read by the API, the CLI and campaign targeting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, UTCDateTime


class MemberSegment(Base):
    """``monetary`` and ``clv`` are minor units of ``currency``; ``expected_purchases``
    covers the next ``horizon_days`` days (the program's ``clv_horizon_days``, 365 by
    default); P(alive) and the CLV columns are NULL when the models could not be fitted."""

    __tablename__ = "member_segments"
    __table_args__ = (
        Index("ix_member_segments_program_id_rfm_segment", "program_id", "rfm_segment"),
        CheckConstraint("recency_score BETWEEN 1 AND 5", name="recency_score_range"),
        CheckConstraint("frequency_score BETWEEN 1 AND 5", name="frequency_score_range"),
        CheckConstraint("monetary_score BETWEEN 1 AND 5", name="monetary_score_range"),
    )

    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[int] = mapped_column(BigInteger)
    recency_score: Mapped[int] = mapped_column(SmallInteger)
    frequency_score: Mapped[int] = mapped_column(SmallInteger)
    monetary_score: Mapped[int] = mapped_column(SmallInteger)
    rfm_segment: Mapped[str] = mapped_column(String(64))
    is_high_value: Mapped[bool] = mapped_column(Boolean)
    is_regular: Mapped[bool] = mapped_column(Boolean)
    is_category_lover: Mapped[bool] = mapped_column(Boolean)
    favourite_category: Mapped[str | None] = mapped_column(String(128))
    favourite_category_share: Mapped[float | None] = mapped_column(Double)
    p_alive: Mapped[float | None] = mapped_column(Double)
    previous_p_alive: Mapped[float | None] = mapped_column(Double)
    expected_purchases: Mapped[float | None] = mapped_column(Double)
    horizon_days: Mapped[int] = mapped_column(Integer)
    clv: Mapped[int | None] = mapped_column(BigInteger)
    is_at_risk: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
