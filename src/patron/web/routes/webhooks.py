"""Webhooks (``/admin/webhooks``, admin only): the endpoints with their state, adding one
(its signing secret shown once), and one endpoint's delivery log (every delivery with each
attempt: when, the answer's status code, the time it took, the error), with sending a
delivery again, enabling an endpoint that was disabled for failing, and removing it.

The same services as ``/api/v1/webhooks``; each change is audited with the console user
(``webhooks.create_webhook``, ``webhooks.delete_webhook``, ``webhooks.enable_webhook``,
``webhooks.redeliver``, the actions the API's audit rows use)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from patron.kit.errors import InvalidInputError, NotFoundError, PatronError
from patron.kit.outbox import ALL_EVENTS
from patron.kit.time import utcnow
from patron.web.audit import audited
from patron.web.auth import AdminSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.params import PageId
from patron.web.templating import gettext_for, render
from patron.webhooks import schemas
from patron.webhooks import service as webhook_service
from patron.webhooks.catalogue import EVENT_TYPES
from patron.webhooks.errors import (
    WebhookDisabledError,
    WebhookEventUnknownError,
    WebhookUrlInvalidError,
)

router = APIRouter(include_in_schema=False)
WebhookId = PageId
DeliveryId = PageId
NOTICES = ("removed", "enabled", "resent", "disabled")
STATUSES = ("pending", "delivered", "failed")
SHOWN = 50


def status_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {"pending": _("Pending"), "delivered": _("Delivered"), "failed": _("Failed")}


def _missing(request: Request, error: PatronError) -> Response:
    context = {"title": error_text(error, request.state.language), "message": ""}
    return render(request, "error.html", context, status_code=404)


async def _list_page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    async with database_of(request).read() as session:
        endpoints = await webhook_service.list_endpoints(session)
    base: dict[str, Any] = {
        "endpoints": endpoints,
        "event_types": sorted(EVENT_TYPES),
        "all_events": ALL_EVENTS,
        "created": None,
        "problem": "",
        "notice": "",
        "form": {"url": "", "events": [], "description": ""},
    }
    page = render(request, "webhooks.html", {**base, **context}, status_code=status_code)
    return remember(request, page)


@router.get("/admin/webhooks")
async def webhooks_page(request: Request, _: AdminSession, notice: str = "") -> Response:
    return await _list_page(request, {"notice": notice if notice in NOTICES else ""})


@router.post("/admin/webhooks")
async def create(request: Request, console: AdminSession) -> Response:
    await checked_form(request, console)
    form = await request.form()
    events = [value for value in form.getlist("events") if isinstance(value, str)]
    url = str(form.get("url", "")).strip()
    description = str(form.get("description", "")).strip() or None
    given = {"url": url, "events": events, "description": description or ""}
    language: str = request.state.language
    try:
        data = schemas.WebhookCreate.model_validate(
            {"url": url, "events": events, "description": description}
        )
    except ValidationError as error:
        field = str(error.errors()[0]["loc"][0]) if error.errors() else "url"
        refusal: PatronError = WebhookUrlInvalidError("", field="url")
        if field == "events":
            refusal = WebhookEventUnknownError("", field="events")
        elif field == "description":
            refusal = InvalidInputError("", field="description")
        problem = error_text(refusal, language)
        return await _list_page(request, {"problem": problem, "form": given}, 422)
    try:
        async with database_of(request).write() as session:
            created = await webhook_service.create_endpoint(
                session,
                url=data.url,
                events=data.events,
                description=data.description,
                now=utcnow(),
            )
            await audited(session, console, "webhooks.create_webhook", f"webhook:{created.id}")
    except InvalidInputError as error:
        problem = error_text(error, language)
        return await _list_page(request, {"problem": problem, "form": given}, 422)
    page = await _list_page(request, {"created": created}, status_code=201)
    page.headers["Cache-Control"] = "no-store"  # the secret is on this page only
    return page


@router.get("/admin/webhooks/{webhook_id}")
async def webhook_page(
    request: Request,
    _: AdminSession,
    webhook_id: WebhookId,
    status: str = "",
    notice: str = "",
) -> Response:
    chosen = status if status in STATUSES else None
    async with database_of(request).read() as session:
        try:
            endpoint = await webhook_service.get_endpoint(session, webhook_id)
            deliveries = await webhook_service.list_deliveries(
                session, webhook_id, limit=SHOWN, status=chosen
            )
        except NotFoundError as error:
            return _missing(request, error)
    context = {
        "endpoint": endpoint,
        "all_events": ALL_EVENTS,
        "deliveries": deliveries.items,
        "more": deliveries.next_after is not None,
        "status": chosen or "",
        "statuses": status_labels(request.state.language),
        "notice": notice if notice in NOTICES else "",
    }
    return remember(request, render(request, "webhook.html", context))


@router.post("/admin/webhooks/{webhook_id}/remove")
async def remove(request: Request, console: AdminSession, webhook_id: WebhookId) -> Response:
    await checked_form(request, console)
    try:
        async with database_of(request).write() as session:
            await webhook_service.remove_endpoint(session, webhook_id)
            await audited(session, console, "webhooks.delete_webhook", f"webhook:{webhook_id}")
    except NotFoundError as error:
        return _missing(request, error)
    return RedirectResponse("/admin/webhooks?notice=removed", status_code=303)


@router.post("/admin/webhooks/{webhook_id}/enable")
async def enable(request: Request, console: AdminSession, webhook_id: WebhookId) -> Response:
    await checked_form(request, console)
    try:
        async with database_of(request).write() as session:
            await webhook_service.enable_endpoint(session, webhook_id, now=utcnow())
            await audited(session, console, "webhooks.enable_webhook", f"webhook:{webhook_id}")
    except NotFoundError as error:
        return _missing(request, error)
    return RedirectResponse(f"/admin/webhooks/{webhook_id}?notice=enabled", status_code=303)


@router.post("/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request, console: AdminSession, webhook_id: WebhookId, delivery_id: DeliveryId
) -> Response:
    await checked_form(request, console)
    try:
        async with database_of(request).write() as session:
            await webhook_service.redeliver(session, webhook_id, delivery_id, now=utcnow())
            await audited(session, console, "webhooks.redeliver", f"webhook:{webhook_id}")
    except NotFoundError as error:
        return _missing(request, error)
    except WebhookDisabledError:
        return RedirectResponse(f"/admin/webhooks/{webhook_id}?notice=disabled", status_code=303)
    return RedirectResponse(f"/admin/webhooks/{webhook_id}?notice=resent", status_code=303)
