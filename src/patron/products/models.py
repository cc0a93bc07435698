"""The product catalogue's table: one row per SKU of a program."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("program_id", "sku"),
        Index("ix_products_program_id_category", "program_id", "category"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(128))
    # The default name (the ``name`` column, else the program's language, else the first given).
    name: Mapped[str] = mapped_column(String(200))
    # Names per language: {"ru": "...", "pl": "...", "en": "..."} (only those given).
    names: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    category: Mapped[str | None] = mapped_column(String(128))
    price: Mapped[int | None] = mapped_column(BigInteger)  # minor units of ``currency``
    currency: Mapped[str | None] = mapped_column(String(3))
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # SHA-256 of the normalised row: the same row again is unchanged.
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
