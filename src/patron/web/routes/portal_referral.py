"""Refer-a-friend in the portal (``/portal/referral``): the member's referral code and link
(:func:`patron.referrals.service.member_referral`) with a share button (the phone's share
sheet through the Web Share API, else copying the link: ``static/web/share.js``, no build
step; without scripts the link is shown to copy by hand), what a friend and the member get
(the program's ``referrals`` section), and the member's funnel: friends who joined with the
code, those whose qualifying purchase was made, those rewarded, and those held for review."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from patron.programs import service as program_service
from patron.referrals import service as referral_service
from patron.referrals.models import ReferralStatus
from patron.web.auth import database_of, remember
from patron.web.member_auth import MemberVisit
from patron.web.routes.portal import formats, reward_names
from patron.web.templating import render

router = APIRouter(include_in_schema=False)


def funnel(referrals: dict[str, int]) -> dict[str, int]:
    """The member's referrals by step: ``joined`` every friend who enrolled with the code,
    ``qualified`` those whose qualifying purchase was made (rewarded ones included, as the
    program's KPIs count them), ``rewarded`` both sides paid, ``review`` held for an admin's
    review, ``refused`` rejected by an admin."""
    count = {status: referrals.get(status.value, 0) for status in ReferralStatus}
    return {
        "joined": sum(count.values()),
        "qualified": count[ReferralStatus.QUALIFIED] + count[ReferralStatus.REWARDED],
        "rewarded": count[ReferralStatus.REWARDED],
        "review": count[ReferralStatus.FLAGGED],
        "refused": count[ReferralStatus.REJECTED],
    }


@router.get("/portal/referral")
async def referral(request: Request, visit: MemberVisit) -> Response:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        mine = await referral_service.member_referral(
            session, active=active, member_id=visit.member.id
        )
    settings = referral_service.settings_of(active)
    context = {
        "referral": mine,
        "steps": funnel(mine.referrals) if mine is not None else {},
        "settings": settings,
        "minimum": str(settings.min_purchase) if settings.min_purchase > 0 else "",
        "names": reward_names(active, request.state.language),
        "currency": active.program.currency,
        "fmt": formats(request, active),
    }
    return remember(request, render(request, "portal/referral.html", context))
