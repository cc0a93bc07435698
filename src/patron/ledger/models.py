"""Tables of the points ledger: accounts (cached balances), entries, lots and lot movements.

The definitions of the cached counters are in :mod:`patron.ledger.lots`. Every table carries
``member_id`` so that it can be sharded by member. ``accounts.member_id`` has no foreign key
yet (the members domain is merged separately).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime, value_enum
from patron.ledger.kinds import EntryKind, MovementReason


class Account(Base):
    """One member's points account: the row every points write locks, and the cached balance."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("debt >= 0", name="debt_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    expired: Mapped[int] = mapped_column(BigInteger, default=0)
    debt: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One signed, append-only change of a member's points.

    ``requested_amount`` is what the caller asked for (it differs from ``amount`` only when a
    debit was capped); ``debt_change`` is how much this entry moved the account's debt (a debit
    under the ``debt`` policy raises it, an active credit repays it). ``lot_id`` names the lot a
    ``reverse`` or ``expire`` entry refers to; a credit's own lot points back via
    ``lots.entry_id``.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_member_id_id", "member_id", "id"),
        Index("ix_ledger_entries_source", "source_type", "source_id"),
        # The reversals and expiries of one lot (a return sums them): earn and spend entries
        # carry no lot, so they stay out of the index and cost the hot path nothing.
        Index(
            "ix_ledger_entries_lot_id",
            "lot_id",
            sqlite_where=text("lot_id IS NOT NULL"),
            postgresql_where=text("lot_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[EntryKind] = mapped_column(value_enum(EntryKind, "entry_kind"))
    amount: Mapped[int] = mapped_column(BigInteger)
    requested_amount: Mapped[int] = mapped_column(BigInteger)
    debt_change: Mapped[int] = mapped_column(BigInteger, default=0)
    lot_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(String(255), default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Lot(Base):
    """An earned amount of points and what is left of it (see :mod:`patron.ledger.lots`)."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        CheckConstraint("remaining <= amount", name="remaining_within_amount"),
        # The open lots of one account, in burn order (spent and expired lots drop out).
        Index(
            "ix_lots_burn_order",
            "account_id",
            "expires_at",
            "created_at",
            "id",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
        # The daily jobs: pending lots by activation time, open lots by expiry time.
        Index(
            "ix_lots_pending_until",
            "pending_until",
            sqlite_where=text("NOT is_active"),
            postgresql_where=text("NOT is_active"),
        ),
        Index(
            "ix_lots_expires_at",
            "expires_at",
            sqlite_where=text("remaining > 0 AND NOT is_expired"),
            postgresql_where=text("remaining > 0 AND NOT is_expired"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=false())
    is_expired: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LotMovement(Base):
    """A decrease of a lot's ``remaining``: by a debit, an expiry, or repaying debt.

    ``amount`` is negative. ``entry_id`` is the entry that caused it; it is empty only when a
    pending lot repaid debt on activation (no entry: the total did not change).
    """

    __tablename__ = "lot_movements"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    reason: Mapped[MovementReason] = mapped_column(value_enum(MovementReason, "movement_reason"))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExpiryNotice(Base):
    """A ``points.expiring`` event written for one member and one expiry date (the local date
    of the program's time zone), in the same unit of work as the event: the unique key keeps
    the daily job from announcing the same date twice (:mod:`patron.ledger.expiring`)."""

    __tablename__ = "points_expiry_notices"
    __table_args__ = (
        UniqueConstraint("member_id", "expires_on"),
        # the notices of the dates in a job's window
        Index("ix_points_expiry_notices_expires_on", "expires_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    expires_on: Mapped[date] = mapped_column(Date)
    points: Mapped[int] = mapped_column(BigInteger)
    """What was announced: the points left that day in the lots expiring that date."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The first moment of ``expires_on`` at which some of those points expire."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


accounts = cast(Table, Account.__table__)
entries = cast(Table, LedgerEntry.__table__)
lots = cast(Table, Lot.__table__)
movements = cast(Table, LotMovement.__table__)
expiry_notices = cast(Table, ExpiryNotice.__table__)
