"""Adding, listing, enabling and removing webhook endpoints; their delivery log and
redelivery. Services never commit: the caller's unit of work does."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.webhooks import addresses, schemas, signing
from patron.webhooks.catalogue import unknown_events
from patron.webhooks.errors import (
    DeliveryNotFoundError,
    WebhookDisabledError,
    WebhookEventUnknownError,
    WebhookNotFoundError,
)
from patron.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

RETRY_WINDOW = timedelta(days=3)
"""How long a delivery is retried (from its first queueing, or from a redelivery)."""
MAX_PAGE_SIZE = 200


def _events(events: list[str]) -> list[str]:
    unknown = unknown_events(events)
    if unknown:
        raise WebhookEventUnknownError(
            f"unknown event type(s): {', '.join(sorted(set(unknown)))} "
            "(see docs/events.md; '*' means all)",
            field="events",
            params={"unknown": ", ".join(sorted(set(unknown)))},
        )
    return list(dict.fromkeys(events))  # without repeats, in the given order


async def create_endpoint(
    session: AsyncSession,
    *,
    url: str,
    events: list[str],
    description: str | None,
    now: datetime,
) -> schemas.WebhookCreated:
    """Add an endpoint with a new secret. The URL's host is resolved and every address checked
    (:func:`patron.webhooks.addresses.check`); event names must be known or ``"*"``."""
    wanted = _events(events)
    await addresses.check(url)
    endpoint = WebhookEndpoint(
        url=url,
        description=description,
        events=wanted,
        secret=signing.new_secret(),
        enabled=True,
        created_at=now,
        failing_since=None,
        disabled_at=None,
        notice=None,
    )
    session.add(endpoint)
    await session.flush()
    shown = schemas.Webhook.model_validate(endpoint)
    return schemas.WebhookCreated(**shown.model_dump(), secret=endpoint.secret)


async def list_endpoints(session: AsyncSession) -> list[schemas.Webhook]:
    rows = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    return [schemas.Webhook.model_validate(row) for row in rows]


async def _endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookNotFoundError(
            f"no webhook {endpoint_id}", field="id", params={"webhook_id": endpoint_id}
        )
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> schemas.Webhook:
    return schemas.Webhook.model_validate(await _endpoint(session, endpoint_id))


async def remove_endpoint(session: AsyncSession, endpoint_id: int) -> None:
    """Remove the endpoint with its deliveries and their log (nothing more is sent to it)."""
    await _endpoint(session, endpoint_id)
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))


async def enable_endpoint(
    session: AsyncSession, endpoint_id: int, *, now: datetime
) -> schemas.Webhook:
    """Enable a disabled endpoint: its pending deliveries are due again (the notice stays as
    a record of the last time it was disabled)."""
    endpoint = await _endpoint(session, endpoint_id)
    if not endpoint.enabled:
        endpoint.enabled = True
        endpoint.failing_since = None
        endpoint.disabled_at = None
        await session.flush()
    return schemas.Webhook.model_validate(endpoint)


def _delivery(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> schemas.Delivery:
    return schemas.Delivery(
        id=row.id,
        webhook_id=row.message_id,
        event_id=row.event_id,
        type=row.event_type,
        status=row.status,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        retry_until=row.retry_until,
        last_attempt_at=row.last_attempt_at,
        response_code=row.response_code,
        attempts=[schemas.Attempt.model_validate(attempt) for attempt in attempts],
    )


async def list_deliveries(
    session: AsyncSession,
    endpoint_id: int,
    *,
    after: int | None = None,
    limit: int = 50,
    status: str | None = None,
) -> schemas.DeliveryPage:
    """The endpoint's deliveries newest first, each with every attempt (oldest first);
    ``after`` is the ``next_after`` of the page before."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"limit must be from 1 to {MAX_PAGE_SIZE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE_SIZE},
        )
    await _endpoint(session, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if after is not None:
        query = query.where(WebhookDelivery.id < after)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = list(await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    by_delivery: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if rows:
        attempts = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([row.id for row in rows]))
            .order_by(WebhookAttempt.id)
        )
        for attempt in attempts:
            by_delivery[attempt.delivery_id].append(attempt)
    return schemas.DeliveryPage(
        items=[_delivery(row, by_delivery[row.id]) for row in rows],
        next_after=rows[-1].id if has_more else None,
    )


async def redeliver(
    session: AsyncSession, endpoint_id: int, delivery_id: int, *, now: datetime
) -> schemas.Delivery:
    """Send a delivery again now (same ``webhook-id`` and body, a new signature), with a new
    three days of retries; its earlier attempts stay in the log."""
    endpoint = await _endpoint(session, endpoint_id)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise DeliveryNotFoundError(
            f"webhook {endpoint_id} has no delivery {delivery_id}",
            field="delivery_id",
            params={"webhook_id": endpoint_id, "delivery_id": delivery_id},
        )
    if not endpoint.enabled:
        raise WebhookDisabledError(
            f"webhook {endpoint_id} is disabled; enable it first",
            field="id",
            params={"webhook_id": endpoint_id},
        )
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.retry_until = now + RETRY_WINDOW
    await session.flush()
    attempts = list(
        await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.id)
        )
    )
    return _delivery(delivery, attempts)
