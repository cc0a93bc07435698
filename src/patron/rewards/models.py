"""Tables of the rewards domain: stock counters of the catalogue and the coupons it issues.

The catalogue itself is the active program's ``rewards`` list (program-as-code); only what
changes at run time lives here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, UTCDateTime, value_enum
from patron.programs.schema import RewardKind


class CouponStatus(StrEnum):
    ACTIVE = "active"
    CONSUMED = "consumed"
    CANCELLED = "cancelled"


class RewardStock(Base):
    """How many coupons of a stocked reward are out (issued and not cancelled).

    The row of a reward is created by its first redemption; ``issued`` only moves by the
    atomic conditional ``issued = issued + 1 WHERE issued < :stock`` (and ``- 1`` on cancel).
    Counted per program, not per version: raising the stock in a new version adds to it.
    """

    __tablename__ = "reward_stocks"
    __table_args__ = (CheckConstraint("issued >= 0", name="issued_not_negative"),)

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), primary_key=True
    )
    reward_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued: Mapped[int] = mapped_column(BigInteger, default=0)


class Coupon(Base):
    """A coupon issued by a redemption: an unguessable, single-use code.

    ``value`` is in minor units of the program currency for fixed_discount, gift_certificate
    and cashback, a whole percent for percent_discount, and empty for the other kinds.
    ``valid_until`` empty means the coupon never expires; it is expired from that instant on.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("cost_points >= 0", name="cost_points_not_negative"),
        Index("ix_coupons_member_id_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    reward_code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[RewardKind] = mapped_column(value_enum(RewardKind, "reward_kind", length=24))
    value: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3))
    sku: Mapped[str | None] = mapped_column(String(128), default=None)
    cost_points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[CouponStatus] = mapped_column(
        value_enum(CouponStatus, "coupon_status", length=24), default=CouponStatus.ACTIVE
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    consumed_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    redeem_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id"), default=None
    )
    refund_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id"), default=None
    )
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)


reward_stocks = cast(Table, RewardStock.__table__)
coupons = cast(Table, Coupon.__table__)
