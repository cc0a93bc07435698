"""The challenges' tables: each member's progress per challenge and period, the steps that
advanced it (one per thing counted, so a replayed event counts once), and the badges earned.

The challenges themselves live in the program file (``programs.schema.Program.challenges``);
rows here are keyed by the program and the challenge's key, so a challenge keeps its progress
across program versions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, UTCDateTime


class ChallengeProgress(Base):
    """A member's progress on one challenge in one period (``period_key``: ``2026-12``,
    ``2026-W49`` or ``lifetime``, as the rule limits write them). ``count`` is what was counted
    in the period (for a streak: the weeks in a row ending with ``last_week``, the Monday of
    the latest week counted); ``completed_at`` and ``points`` (with ``entry_id``, the credit)
    are set once, on completion."""

    __tablename__ = "challenge_progress"
    __table_args__ = (
        UniqueConstraint(
            "program_id",
            "challenge_key",
            "member_id",
            "period_key",
            name="uq_challenge_progress_period",
        ),
        Index("ix_challenge_progress_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    challenge_key: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[int] = mapped_column(Integer)
    last_week: Mapped[date | None] = mapped_column(Date, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChallengeStep(Base):
    """One thing a challenge counted for a member: ``occurrence`` names it (``purchase:17``,
    ``review:3``, ``survey:9``, ``event:42``; for a streak the week, ``week:2026-11-30``), so
    the same event counted again finds its row and adds nothing."""

    __tablename__ = "challenge_steps"
    __table_args__ = (
        UniqueConstraint(
            "program_id",
            "challenge_key",
            "member_id",
            "occurrence",
            name="uq_challenge_steps_occurrence",
        ),
        Index("ix_challenge_steps_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    challenge_key: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(16))
    occurrence: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MemberBadge(Base):
    """A badge a member earned, once ever (``badge_key`` unique per member), with the
    challenge that gave it."""

    __tablename__ = "member_badges"
    __table_args__ = (UniqueConstraint("member_id", "badge_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    badge_key: Mapped[str] = mapped_column(String(64))
    challenge_key: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(16))
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
