"""The dispatcher's webhook handler: for each event, one delivery row per enabled endpoint that
wants it, written in the handler's unit of work (so exactly once per event and endpoint);
:mod:`patron.webhooks.delivery` sends them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import ALL_EVENTS, EventEnvelope, Handler
from patron.kit.raw import Sql, raw_of
from patron.kit.time import utcnow
from patron.webhooks.catalogue import matches
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.service import RETRY_WINDOW

HANDLER_NAME = "webhooks.queue"
_ENABLED = Sql("SELECT id, events FROM webhook_endpoints WHERE enabled = TRUE")


def _events_of(stored: Any) -> list[str]:
    """The ``events`` column as the driver gives it (JSON text on SQLite, a list from JSONB)."""
    value = json.loads(stored) if isinstance(stored, str | bytes) else stored
    return [str(name) for name in value]


def iso(moment: Any) -> str:
    """An instant as ISO 8601 UTC with ``Z`` (``2026-12-05T10:00:00.123456Z``)."""
    return str(moment.isoformat()).replace("+00:00", "Z")


def body_of(envelope: EventEnvelope) -> str:
    """The delivery's JSON: ``{"type", "timestamp" (when the event occurred), "data"}``."""
    payload = {"type": envelope.type, "timestamp": iso(envelope.occurred_at), "data": envelope.data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def queue_deliveries(session: AsyncSession, envelope: EventEnvelope) -> int:
    """Queue ``envelope`` for every enabled endpoint subscribed to its type; returns how many.
    An endpoint that has it already (a run repeated after a crash) is skipped."""
    raw = await raw_of(session)
    subscribed = [
        int(row[0]) for row in await raw.all(_ENABLED) if matches(_events_of(row[1]), envelope.type)
    ]
    if not subscribed:  # the usual case, every event: one small read straight to the driver
        return 0
    endpoints = list(
        await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(subscribed)))
    )
    queued = set(
        await session.scalars(
            select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == envelope.id)
        )
    )
    now = utcnow()
    body = body_of(envelope)
    added = 0
    for endpoint in endpoints:
        if endpoint.id in queued:
            continue
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=envelope.id,
                message_id=envelope.public_id,
                event_type=envelope.type,
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                retry_until=now + RETRY_WINDOW,
                created_at=now,
            )
        )
        added += 1
    await session.flush()
    return added


async def _handle(session: AsyncSession, envelope: EventEnvelope) -> None:
    await queue_deliveries(session, envelope)


def handlers() -> list[Handler]:
    return [Handler(HANDLER_NAME, frozenset({ALL_EVENTS}), _handle)]
