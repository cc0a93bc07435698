"""The dispatcher's webhook handler: for each event, one delivery row per enabled endpoint that
wants it, written in the handler's unit of work (so exactly once per event and endpoint);
:mod:`patron.webhooks.delivery` sends them.

It screens a batch of events with one read of the enabled endpoints (without an endpoint
subscribed to an event's type, the usual case, the event costs no run), and queues a batch's
deliveries in one unit of work (``handle_many``: the endpoints and the deliveries already
queued read once for the batch)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import ALL_EVENTS, EventEnvelope, Handler
from patron.kit.raw import Sql, raw_of
from patron.kit.time import utcnow
from patron.webhooks.catalogue import matches
from patron.webhooks.models import WebhookDelivery
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


async def _subscribed(session: AsyncSession) -> list[tuple[int, list[str]]]:
    """The enabled endpoints and their event types: one small read straight to the driver."""
    raw = await raw_of(session)
    return [(int(row[0]), _events_of(row[1])) for row in await raw.all(_ENABLED)]


async def queue_deliveries(session: AsyncSession, envelope: EventEnvelope) -> int:
    """Queue ``envelope`` for every enabled endpoint subscribed to its type; returns how many.
    An endpoint that has it already (a run repeated after a crash) is skipped."""
    return await queue_many(session, [envelope])


async def queue_many(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> int:
    """:func:`queue_deliveries` for many events, with one read of the endpoints and one of
    the deliveries already queued."""
    endpoints = await _subscribed(session)
    wanted = [
        (envelope, [id_ for id_, events in endpoints if matches(events, envelope.type)])
        for envelope in envelopes
    ]
    wanted = [(envelope, ids) for envelope, ids in wanted if ids]
    if not wanted:
        return 0
    rows = await session.execute(
        select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id).where(
            WebhookDelivery.event_id.in_([envelope.id for envelope, _ in wanted])
        )
    )
    queued = {(int(row[0]), int(row[1])) for row in rows}
    now = utcnow()
    added = 0
    for envelope, endpoint_ids in wanted:
        body = body_of(envelope)
        for endpoint_id in endpoint_ids:
            if (envelope.id, endpoint_id) in queued:
                continue
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
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


async def _handle_many(session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
    await queue_many(session, envelopes)


async def _screen(
    session: AsyncSession, envelopes: Sequence[EventEnvelope]
) -> Sequence[EventEnvelope]:
    """The events some enabled endpoint is subscribed to."""
    endpoints = await _subscribed(session)
    if not endpoints:
        return []
    return [e for e in envelopes if any(matches(events, e.type) for _, events in endpoints)]


def handlers() -> list[Handler]:
    return [
        Handler(
            HANDLER_NAME,
            frozenset({ALL_EVENTS}),
            _handle,
            screen=_screen,
            handle_many=_handle_many,
        )
    ]
