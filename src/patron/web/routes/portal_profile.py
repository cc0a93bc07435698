"""The member's profile in the portal: card number, email and phone, the language and the
marketing consents (each change through the consent service, source ``portal``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.kit.errors import NotFoundError
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.members.errors import MemberErasedError
from patron.members.models import ConsentChannel, Language
from patron.members.schemas import MemberUpdate
from patron.web.auth import database_of, remember, set_cookie
from patron.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from patron.web.member_auth import MemberVisit, PortalVisit, checked_member_form
from patron.web.messages import labels
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
_YEAR = 365 * 24 * 3600
MARKETING = (ConsentChannel.EMAIL, ConsentChannel.SMS)


def _consents(visit: PortalVisit) -> dict[str, bool]:
    granted = {consent.channel: consent.is_granted for consent in visit.member.consents}
    return {channel.value: granted.get(channel, False) for channel in MARKETING}


@router.get("/portal/profile")
async def profile(request: Request, visit: MemberVisit, notice: str = "") -> Response:
    context = {
        "consents": _consents(visit),
        "member_language": visit.member.language.value if visit.member.language else "",
        "choices": LANGUAGES,
        "labels": labels(request.state.language),
        "notice": notice if notice in ("saved", "erased") else "",
    }
    return remember(request, render(request, "portal/profile.html", context))


@router.post("/portal/profile")
async def save_profile(request: Request, visit: MemberVisit) -> Response:
    """The member's language and marketing consents (each change in the consent history,
    source ``portal``)."""
    form = await checked_member_form(request, visit)
    chosen = form.get("language", "")
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            if chosen in LANGUAGES:
                await member_service.update_member(
                    session,
                    member_id=visit.member.id,
                    data=MemberUpdate(language=Language(chosen)),
                    now=now,
                )
            for channel in MARKETING:
                await member_service.set_consent(
                    session,
                    member_id=visit.member.id,
                    channel=channel,
                    is_granted=form.get(f"consent_{channel.value}") == "on",
                    source="portal",
                    now=now,
                )
    except (MemberErasedError, NotFoundError):
        return RedirectResponse("/portal/profile?notice=erased", status_code=303)
    response = RedirectResponse("/portal/profile?notice=saved", status_code=303)
    if chosen in LANGUAGES:
        # the page follows the new choice at once (the switch's cookie would override it)
        set_cookie(request, response, LANGUAGE_COOKIE, chosen, _YEAR)
    return response
