"""The referrals' tables: one row per referred member (``referrals``), and the hashed device
and payment fingerprints given at enrolment or with a purchase (``member_fingerprints``), which the
self-referral check compares."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime, value_enum


class ReferralStatus(StrEnum):
    """``pending``: enrolled, waiting for a qualifying purchase; ``qualified``: the purchase
    is made and must stand until ``due_at``; ``rewarded``: both sides were paid;
    ``flagged``: held for review (an abuse check failed); ``rejected``: refused by an admin,
    never paid."""

    PENDING = "pending"
    QUALIFIED = "qualified"
    REWARDED = "rewarded"
    FLAGGED = "flagged"
    REJECTED = "rejected"


class FingerprintKind(StrEnum):
    DEVICE = "device"
    PAYMENT = "payment"


class Referral(Base):
    """A member (the referee) enrolled with another member's (the referrer's) code. One per
    referee. ``flags`` name the abuse checks that failed; ``reviewed_at`` is set by an
    admin's approval or rejection (an approved referral is not checked again)."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("referee_id"),
        Index("ix_referrals_program_id_status", "program_id", "status"),
        Index("ix_referrals_referrer_id_created_at", "referrer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    referee_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    status: Mapped[ReferralStatus] = mapped_column(value_enum(ReferralStatus, "status"))
    flags: Mapped[list[str]] = mapped_column(JsonType, default=list)
    purchase_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    referrer_points: Mapped[int] = mapped_column(BigInteger, default=0)
    referee_points: Mapped[int] = mapped_column(BigInteger, default=0)
    # points given plus the points price of the coupons given, both sides
    cost_points: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    review: Mapped[str | None] = mapped_column(String(16), default=None)
    # the points were taken back: the purchase was returned after the reward (migration 0031)
    clawed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # what the clawback took back: points reversed plus the points price of the coupons voided
    # (the KPIs count it as given back), and each coupon's outcome (migration 0033)
    clawed_back_points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    clawback_coupons: Mapped[list[dict[str, str]] | None] = mapped_column(JsonType, default=None)


class MemberFingerprint(Base):
    """The SHA-256 of a device or payment fingerprint a member gave (at enrolment or with a
    purchase)."""

    __tablename__ = "member_fingerprints"
    __table_args__ = (
        UniqueConstraint("member_id", "kind", "digest"),
        Index("ix_member_fingerprints_program_id_digest", "program_id", "digest"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[FingerprintKind] = mapped_column(value_enum(FingerprintKind, "kind"))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReferralVisit(Base):
    """A visitor opened a member's referral link (``/join?ref=CODE``): one row per member
    and visitor (the SHA-256 of a random id in the visitor's ``patron_visitor`` cookie), so
    the funnel's ``invited`` counts distinct visitors, not page loads."""

    __tablename__ = "referral_visits"
    __table_args__ = (
        UniqueConstraint("member_id", "visitor_digest"),
        Index("ix_referral_visits_program_id", "program_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    # the referrer: the member whose link was opened
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    visitor_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
