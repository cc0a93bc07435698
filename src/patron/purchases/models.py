from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime
from patron.purchases.breakdown import BreakdownJson


class Purchase(Base):
    """A completed order. ``total`` and ``shipping`` are minor units; ``wallet_paid`` is the
    part of ``total`` the member's wallet paid; ``request_hash`` fingerprints the body so that
    a retry with the same ``external_id`` is recognised."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        Index("ix_purchases_member_occurred", "member_id", "occurred_at"),
        # Time ranges, and the analytics scans of every purchase (KPIs): the columns they read
        # ride along, so those scans walk this narrow index instead of the wide rows (the
        # breakdown alone is about 400 bytes a purchase). Migration 0007.
        Index(
            "ix_purchases_occurred_facts",
            "occurred_at",
            "program_id",
            "currency",
            "member_id",
            "total",
            "shipping",
        ),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("shipping >= 0", name="shipping_not_negative"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(BigInteger)
    shipping: Mapped[int] = mapped_column(BigInteger, default=0)
    channel: Mapped[str | None] = mapped_column(String(64), default=None)
    store: Mapped[str | None] = mapped_column(String(64), default=None)
    program_version: Mapped[int] = mapped_column(Integer)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    # paid from the member's cashback wallet (minor units, part of ``total``; migration 0024)
    wallet_paid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    earn_entry_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(BreakdownJson(), default=list)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PurchaseLine(Base):
    """``amount`` is ``quantity x unit_price``; ``discount`` the line's own discount (money off
    the whole line) and ``order_discount`` its share of the order-level discount (migration
    0008): the line was paid ``amount - discount - order_discount``."""

    __tablename__ = "purchase_lines"
    __table_args__ = (
        UniqueConstraint("purchase_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= quantity", name="returned"
        ),
        CheckConstraint(
            "discount >= 0 AND order_discount >= 0 AND discount + order_discount <= amount",
            name="discounts",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(128), default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    order_discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def paid(self) -> int:
        return self.amount - self.discount - self.order_discount


class PurchaseReturn(Base):
    """A (partial) refund. ``amount`` is the money refunded (minor units)."""

    __tablename__ = "purchase_returns"
    __table_args__ = (
        UniqueConstraint("purchase_id", "external_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    external_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    # the part of ``amount`` given back to the member's wallet (migration 0031)
    wallet_refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    reason: Mapped[str] = mapped_column(String(500), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RuleUsage(Base):
    """How many times an earn rule with a per-member limit applied in one period.

    Incremented atomically (``count = count + 1``) under the member's account lock.
    """

    __tablename__ = "rule_usages"
    __table_args__ = (UniqueConstraint("member_id", "rule_id", "period_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    rule_id: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)
