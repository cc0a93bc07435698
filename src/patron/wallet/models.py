"""Tables of the cashback wallet: ``wallets`` (one per member, the cached balance) and
``wallet_entries`` (append-only, signed, in minor units of the wallet's currency).

Invariants (checked by :mod:`patron.wallet.verify`, run by ``patron verify``):

- ``balance`` = Σ entries.amount, and ``balance >= 0``;
- each entry's ``balance_after`` is the running sum of the wallet's entries up to it (by id),
  and is never negative;
- ``credit`` and ``refund`` entries are positive; ``spend`` and ``reverse`` entries are
  negative; ``adjust`` entries either (never 0);
- a purchase's ``reverse`` entries never take back more than its ``credit`` entries gave;
- a purchase's ``refund`` entries never give back more than its ``spend`` entry took;
- a purchase's ``wallet_paid`` is what its ``spend`` entry took.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, UTCDateTime, value_enum


class WalletEntryKind(StrEnum):
    CREDIT = "credit"  # cashback: a deferred ``credit_wallet`` effect
    SPEND = "spend"  # paid part of a purchase
    REVERSE = "reverse"  # a return took back part of a purchase's cashback
    REFUND = "refund"  # a return gave back part of what the wallet paid of a purchase
    ADJUST = "adjust"  # an admin's correction, either sign (migration 0031)


class Wallet(Base):
    """One member's wallet: the row every wallet write locks, and the cached balance."""

    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletEntry(Base):
    """One signed, append-only change of a wallet. ``purchase_id`` names the purchase a
    credit (its cashback), a spend (paid part of it) or a reverse (its return) belongs to."""

    __tablename__ = "wallet_entries"
    __table_args__ = (
        Index("ix_wallet_entries_member_id_id", "member_id", "id"),
        Index(
            "ix_wallet_entries_purchase_id",
            "purchase_id",
            sqlite_where=text("purchase_id IS NOT NULL"),
            postgresql_where=text("purchase_id IS NOT NULL"),
        ),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[WalletEntryKind] = mapped_column(value_enum(WalletEntryKind, "wallet_entry_kind"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    purchase_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(160))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletHold(Base):
    """Cashback that fell due while its member was blocked (a blocked member earns nothing):
    the deferred ``credit_wallet`` effect it comes from (its purchase, rule or campaign and
    place, and its key), held until the block is lifted, then credited under the same key
    (``released_at``). Never credited while the member stays blocked (migration 0033)."""

    __tablename__ = "wallet_holds"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_wallet_holds_member_id_released_at", "member_id", "released_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    purchase_id: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    source_type: Mapped[str] = mapped_column(String(32))  # "rule" or "campaign"
    source_id: Mapped[str] = mapped_column(String(160))  # the rule id or the campaign key
    effect_index: Mapped[int] = mapped_column(Integer)  # its place in the ``deferred`` list
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the purchase's time
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
