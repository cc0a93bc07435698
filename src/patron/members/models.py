"""Members, their consents to be contacted, and the history of those consents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime, value_enum
from patron.kit.language import Language as Language


class MemberStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class ConsentChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        # partial: lookups by a contact compare with ``=`` (not null); a full index would
        # also answer ``program_id = $1`` alone and, before PostgreSQL has statistics, be
        # taken over the unique key for a lookup by external id (migration 0038)
        Index(
            "ix_members_program_id_email",
            "program_id",
            "email",
            postgresql_where=text("email IS NOT NULL"),
            sqlite_where=text("email IS NOT NULL"),
        ),
        # the referral check's "someone else has this email" compares in any case
        # (referrals.repository.others_with_contact); without it a referral read every member
        # of the program (130 ms at 500,000 members; migration 0039)
        Index(
            "ix_members_program_id_lower_email",
            "program_id",
            text("lower(email)"),
            postgresql_where=text("email IS NOT NULL"),
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_members_program_id_phone",
            "program_id",
            "phone",
            postgresql_where=text("phone IS NOT NULL"),
            sqlite_where=text("phone IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # when the birth date last changed after enrolment (the birthday campaigns' abuse guard)
    birth_date_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    language: Mapped[Language | None] = mapped_column(value_enum(Language, "language"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[MemberStatus] = mapped_column(
        value_enum(MemberStatus, "status"), default=MemberStatus.ACTIVE
    )
    blocked_reason: Mapped[str | None] = mapped_column(String(500))
    referral_code: Mapped[str] = mapped_column(String(16), unique=True)
    tier_id: Mapped[str | None] = mapped_column(String(64))
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A tier carried over by an import holds until then (the review does not downgrade it).
    tier_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 of the normalised enrolment body: the same body again is a replay.
    enrolment_checksum: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the person's data was erased (:mod:`patron.privacy.erase`): the row stays as a
    # pseudonym (blocked, ``external_id`` ``erased-<id>``) so the ledger and the KPIs stay whole.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Set while the member has an open abuse flag (:mod:`patron.members.flags`, migration 0027):
    # ``GET /members?flagged=true`` lists them. A flag never changes a balance.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class MemberConsent(Base):
    """The current state of one channel; :class:`ConsentEvent` keeps every change."""

    __tablename__ = "member_consents"
    __table_args__ = (UniqueConstraint("member_id", "channel"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    channel: Mapped[ConsentChannel] = mapped_column(value_enum(ConsentChannel, "channel"))
    is_granted: Mapped[bool] = mapped_column(Boolean)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(64))


class ConsentEvent(Base):
    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    channel: Mapped[ConsentChannel] = mapped_column(value_enum(ConsentChannel, "channel"))
    is_granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PortalLink(Base):
    """A one-time login link to the member portal (``patron portal link``). Only the SHA-256
    of its token is stored; ``used_at`` is set when it is used, after which it opens nothing."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class PortalSession(Base):
    """A member's portal session (apart from the staff's ``user_sessions``). The browser
    holds the token; only its SHA-256 is stored, with the session's CSRF token."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MemberFlag(Base):
    """Why a member was flagged by an abuse control (``reason``: ``return_cycles``), with the
    figures that tripped it (``details``) and whether the program blocked them for it.
    ``cleared_at`` is set when staff clear the flag; the row stays."""

    __tablename__ = "member_flags"
    __table_args__ = (Index("ix_member_flags_member_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
