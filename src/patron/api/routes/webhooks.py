"""``/webhooks``: signed webhook endpoints and their delivery log (admin only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from patron.api.deps import Admin, Now, ReadSession, WriteSession
from patron.api.paging import PageCursor
from patron.api.params import PathId
from patron.api.responses import raises
from patron.kit.errors import InvalidInputError
from patron.kit.strict import DIGITS
from patron.webhooks import schemas
from patron.webhooks import service as webhook_service
from patron.webhooks.errors import (
    DeliveryNotFoundError,
    WebhookDisabledError,
    WebhookEventUnknownError,
    WebhookNotFoundError,
    WebhookUrlInvalidError,
    WebhookUrlRefusedError,
    WebhookUrlUnresolvableError,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WebhookId = PathId
DeliveryId = PathId


@router.post("", response_model=schemas.WebhookCreated, status_code=status.HTTP_201_CREATED)
@raises(
    WebhookUrlInvalidError,
    WebhookUrlRefusedError,
    WebhookUrlUnresolvableError,
    WebhookEventUnknownError,
)
async def create_webhook(
    data: schemas.WebhookCreate, session: WriteSession, _: Admin, now: Now
) -> schemas.WebhookCreated:
    """Add an endpoint for ``events`` (names from docs/events.md, or ``"*"``). The answer
    holds the signing ``secret``, shown only now. URLs on loopback, private, link-local and
    cloud-metadata addresses are refused (422 ``webhook_url_refused``) unless
    ``PATRON_WEBHOOKS_ALLOW_PRIVATE=1``."""
    return await webhook_service.create_endpoint(
        session, url=data.url, events=data.events, description=data.description, now=now
    )


@router.get("", response_model=list[schemas.Webhook])
async def list_webhooks(session: ReadSession, _: Admin) -> list[schemas.Webhook]:
    """Every endpoint (without secrets); a disabled one has ``enabled: false`` and a
    ``notice``."""
    return await webhook_service.list_endpoints(session)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
@raises(WebhookNotFoundError)
async def delete_webhook(webhook_id: WebhookId, session: WriteSession, _: Admin) -> Response:
    """Remove the endpoint with its deliveries and their log."""
    await webhook_service.remove_endpoint(session, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/enable", response_model=schemas.Webhook)
@raises(WebhookNotFoundError)
async def enable_webhook(
    webhook_id: WebhookId, session: WriteSession, _: Admin, now: Now
) -> schemas.Webhook:
    """Enable an endpoint that was disabled for failing; its pending deliveries go out."""
    return await webhook_service.enable_endpoint(session, webhook_id, now=now)


@router.get("/{webhook_id}/deliveries", response_model=schemas.DeliveryPage)
@raises(WebhookNotFoundError, InvalidInputError)
async def list_deliveries(
    webhook_id: WebhookId,
    session: ReadSession,
    _: Admin,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=webhook_service.MAX_PAGE_SIZE), DIGITS] = 50,
    delivery_status: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(alias="status")
    ] = None,
) -> schemas.DeliveryPage:
    """The endpoint's deliveries newest first, each with every attempt (status, response
    code, duration, error); pass ``next_after`` back as ``after`` for older ones."""
    return await webhook_service.list_deliveries(
        session,
        webhook_id,
        after=schemas.DeliveryPage.resume(cursor, after),
        limit=limit,
        status=delivery_status,
    )


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=schemas.Delivery)
@raises(WebhookNotFoundError, DeliveryNotFoundError, WebhookDisabledError)
async def redeliver(
    webhook_id: WebhookId, delivery_id: DeliveryId, session: WriteSession, _: Admin, now: Now
) -> schemas.Delivery:
    """Send a delivery again now (same ``webhook-id`` and body, new signature), with three
    new days of retries."""
    return await webhook_service.redeliver(session, webhook_id, delivery_id, now=now)
