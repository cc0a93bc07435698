"""The message log (``/admin/messages``, staff and admin): every message to a member, newest
first, filtered by status, kind or member, with why a message is queued, skipped or failed,
and why a channel cannot send now (e.g. ``PATRON_SMTP_URL`` is not set). The same service
as ``GET /api/v1/messages``; reading only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from patron.kit.strict import DIGITS
from patron.notifications import service as notification_service
from patron.notifications.schemas import MessageKind, MessageStatus
from patron.notifications.sender import waiting
from patron.web.auth import StaffSession, database_of, remember
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
SHOWN = 50


def status_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "queued": _("Queued"),
        "sent": _("Sent"),
        "skipped_no_consent": _("Skipped: no consent"),
        "skipped_no_address": _("Skipped: no address"),
        "failed": _("Failed"),
    }


def kind_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "welcome": _("Welcome"),
        "tier_changed": _("Tier changed"),
        "points_expiring": _("Points expiring"),
        "survey_invitation": _("Survey invitation"),
        "portal_login": _("Portal login link"),
        "campaign": _("Campaign message"),
    }


@router.get("/admin/messages")
async def messages_page(
    request: Request,
    _: StaffSession,
    status: str = "",
    kind: str = "",
    member: Annotated[str, Query(max_length=20)] = "",
    after: Annotated[int | None, Query(ge=0, le=2**62), DIGITS] = None,
) -> Response:
    chosen_status = MessageStatus(status) if status in set(MessageStatus) else None
    chosen_kind = MessageKind(kind) if kind in set(MessageKind) else None
    member_id = (
        int(member) if member.isascii() and member.isdigit() and 0 < int(member) < 2**62 else None
    )
    async with database_of(request).read() as session:
        page = await notification_service.list_messages(
            session,
            member_id=member_id,
            status=chosen_status,
            kind=chosen_kind,
            after=after,
            limit=SHOWN,
            waiting=waiting(),
        )
    language: str = request.state.language
    filters = {
        "status": chosen_status.value if chosen_status else "",
        "kind": chosen_kind.value if chosen_kind else "",
        "member": str(member_id) if member_id else "",
    }
    older: dict[str, Any] | None = None
    if page.next_after is not None:
        older = {name: value for name, value in filters.items() if value}
        older["after"] = page.next_after
    context = {
        "messages": page.items,
        "waiting": page.waiting,
        "filters": filters,
        "older": older,
        "statuses": status_labels(language),
        "kinds": kind_labels(language),
    }
    return remember(request, render(request, "messages.html", context))
