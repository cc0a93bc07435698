"""The message log (``messages``) and the key that signs unsubscribe links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, UTCDateTime


class Message(Base):
    """One message to one member on one channel, from one event (``(kind, channel,
    event_id)`` is unique: a handler run again finds its row). ``status`` is one of
    :class:`patron.notifications.schemas.MessageStatus`; ``last_error`` says why a message
    is still queued, failed or skipped. ``dedupe_key``, when set, is unique per channel too:
    a program's message (``campaign``) is keyed by the campaign's application, so an
    application whose effect ran twice (two events) still makes one message."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("kind", "channel", "event_id"),
        UniqueConstraint("channel", "dedupe_key"),
        Index("ix_messages_member_id_id", "member_id", "id"),
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    program_id: Mapped[int | None] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(2))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(200), default=None)


class SigningKey(Base):
    """The secret that signs unsubscribe links: one row, made on first use, kept in the
    database so that every server process (and a restored backup) checks the same links."""

    __tablename__ = "message_signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
