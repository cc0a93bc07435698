"""What the API and the CLI take and show of webhooks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.pages import Page
from patron.kit.text import NO_NUL

URL = r"^[hH][tT][tT][pP][sS]?://[^\x00-\x20\x7f]+$"
"""An http(s) URL without spaces or control characters (the API refused them with
``webhook_url_invalid``; PostgreSQL text cannot hold NUL)."""
EventName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^(\*|[a-z_]+\.[a-z_]+)$")]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookCreate(BaseModel):
    """An endpoint to add: its URL, the event types it wants (``"*"``: all) and a note."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2048, pattern=URL)]
    events: Annotated[list[EventName], Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=500, pattern=NO_NUL)] | None = None


class Webhook(BaseModel):
    """An endpoint. ``enabled`` is false once it kept failing (``notice`` says why and since
    when) until it is enabled again. The secret is shown only when the endpoint is added."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    notice: str | None


class WebhookCreated(Webhook):
    """The endpoint just added, with its signing secret (``whsec_`` + base64; shown once)."""

    secret: str


class Attempt(BaseModel):
    """One try: ``delivered`` (a 2xx answer) or ``failed`` (another status, a refused address,
    a timeout or a connection error: ``error``), with the time it took."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    attempted_at: datetime
    status: str
    response_code: int | None
    duration_ms: int
    error: str | None


class Delivery(BaseModel):
    """One event for one endpoint: ``pending`` (``next_attempt_at`` says when), ``delivered``
    or ``failed`` (three days of retries ran out, or the endpoint answered 410 Gone).
    ``webhook_id`` is the ``webhook-id`` header, the same on every attempt."""

    model_config = ConfigDict(frozen=True)

    id: int
    webhook_id: str
    event_id: int
    type: str
    status: str
    created_at: datetime
    next_attempt_at: datetime | None
    retry_until: datetime
    last_attempt_at: datetime | None
    response_code: int | None
    attempts: list[Attempt]


class DeliveryPage(Page[Delivery]):
    """Deliveries newest first; pass ``next_after`` as ``after`` for older ones (``None``:
    this was the last page)."""

    cursor_scope = "deliveries"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None
