"""Message kinds, statuses and the log as the API and the CLI show it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.pages import Page


class MessageKind(StrEnum):
    WELCOME = "welcome"
    TIER_CHANGED = "tier_changed"
    POINTS_EXPIRING = "points_expiring"
    SURVEY_INVITATION = "survey_invitation"
    PORTAL_LOGIN = "portal_login"
    CAMPAIGN = "campaign"  # a message of the program file, sent by a send_message effect


TRANSACTIONAL = frozenset({MessageKind.PORTAL_LOGIN})
"""Kinds the member asked for themselves: sent without a marketing consent, and their bodies
(which hold a one-time login link) are blanked in the log once the message has left."""
REDACTED_BODY = "(a one-time login link: removed from the log once sent)"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for its channel (or its next attempt)
    SENT = "sent"
    SKIPPED_NO_CONSENT = "skipped_no_consent"  # no consent when queued or when sent
    SKIPPED_NO_ADDRESS = "skipped_no_address"  # the member has no address on the channel
    FAILED = "failed"  # refused for good, or out of attempts


class MessageView(BaseModel):
    """One message of the log. ``last_error`` says why a message is still queued (e.g.
    ``PATRON_SMTP_URL is not set``, or the last refusal), failed or skipped."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    member_id: int
    event_id: int
    kind: str
    channel: str
    status: MessageStatus
    language: str
    recipient: str | None
    subject: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class MessagePage(Page[MessageView]):
    """One page of the log, newest first; pass ``next_after`` as ``after`` for older
    messages (``None``: this was the last page). ``waiting`` names, per channel, why queued
    messages cannot be sent now (empty when every channel can send)."""

    cursor_scope = "messages"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None
    waiting: dict[str, str] = Field(default_factory=dict)


class Unsubscribed(BaseModel):
    """What the unsubscribe page shows."""

    member_id: int
    channel: str
    language: str
    changed: bool
