"""The campaigns (``/admin/campaigns``): every campaign of the active program with its status,
window and budget spent; one campaign's figures; and, for admins, pausing and resuming it.

A pause or a resume is a new program version, exactly as ``PATCH /api/v1/campaigns/{key}``
and ``patron campaigns pause|resume`` make it (``patron.campaigns.editing``), audited as
``campaigns.change_campaign`` with the console user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from patron.access.schemas import ConsoleSession
from patron.campaigns import editing, views
from patron.campaigns.schemas import Campaign
from patron.kit.errors import NotFoundError, PatronError
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.web.audit import audited
from patron.web.auth import AdminSession, StaffSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
CampaignKey = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
NOTICES = ("paused", "resumed", "unchanged")


def status_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "draft": _("Draft"),
        "scheduled": _("Scheduled"),
        "active": _("Running"),
        "paused": _("Paused"),
        "ended": _("Ended"),
    }


def trigger_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "purchase": _("Purchase"),
        "signup": _("Signup"),
        "birthday": _("Birthday"),
        "anniversary": _("Anniversary"),
        "referral": _("Referral"),
        "review": _("Review"),
        "survey": _("Survey"),
        "event": _("Custom event"),
        "schedule": _("Schedule"),
    }


def period_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "day": _("a day"),
        "week": _("a week"),
        "month": _("a month"),
        "year": _("a year"),
        "lifetime": _("ever"),
    }


def _name(campaign: Campaign, language: str) -> str:
    names = campaign.names.model_dump()
    return str(names.get(language) or campaign.name)


def _page_context(request: Request, campaigns: list[Campaign]) -> dict[str, Any]:
    language: str = request.state.language
    return {
        "campaigns": campaigns,
        "names": {c.key: _name(c, language) for c in campaigns},
        "statuses": status_labels(language),
        "triggers": trigger_labels(language),
        "periods": period_labels(language),
    }


def _missing(request: Request, error: PatronError) -> Response:
    context = {"title": error_text(error, request.state.language), "message": ""}
    return render(request, "error.html", context, status_code=404)


@router.get("/admin/campaigns")
async def campaigns_page(request: Request, _: StaffSession) -> Response:
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
        except PatronError as error:
            return _missing(request, error)
        campaigns = await views.list_campaigns(session, active=active, now=utcnow())
    return remember(request, render(request, "campaigns.html", _page_context(request, campaigns)))


@router.get("/admin/campaigns/{key}")
async def campaign_page(
    request: Request, _: StaffSession, key: CampaignKey, notice: str = ""
) -> Response:
    now = utcnow()
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
            campaign = await views.get_campaign(session, active=active, key=key, now=now)
            stats = await views.campaign_stats(session, active=active, key=key, now=now)
        except NotFoundError as error:
            return _missing(request, error)
    context = {
        **_page_context(request, [campaign]),
        "campaign": campaign,
        "stats": stats,
        "notice": notice if notice in NOTICES else "",
    }
    return remember(request, render(request, "campaign.html", context))


async def _set_status(request: Request, console: ConsoleSession, key: str, status: str) -> Response:
    await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            applied = await editing.change_campaign(
                session,
                program_key=program_service.DEFAULT_KEY,
                key=key,
                patch={"status": status},
                created_by=f"console:{console.user.email}",
            )
            await audited(session, console, "campaigns.change_campaign", f"campaign:{key}", now=now)
    except NotFoundError as error:
        return _missing(request, error)
    done = "paused" if status == "paused" else "resumed"
    notice = "unchanged" if applied.status.value == "unchanged" else done
    return RedirectResponse(f"/admin/campaigns/{key}?notice={notice}", status_code=303)


@router.post("/admin/campaigns/{key}/pause")
async def pause(request: Request, console: AdminSession, key: CampaignKey) -> Response:
    return await _set_status(request, console, key, "paused")


@router.post("/admin/campaigns/{key}/resume")
async def resume(request: Request, console: AdminSession, key: CampaignKey) -> Response:
    return await _set_status(request, console, key, "active")
