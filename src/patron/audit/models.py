"""The audit log: one row per write by a staff or admin key or by the operator's CLI.

The table is append-only: nothing in Patron updates or deletes its rows, and on PostgreSQL a
trigger (migration ``0008``) refuses ``UPDATE`` and ``DELETE`` outright.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target_id", "target", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "key" (an API key: key_id and role are set), "user" (a console user: user_id and role
    # are set) or "cli" (the operator at the command line)
    actor: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    user_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(128))
    changed: Mapped[bool] = mapped_column(Boolean, default=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
