"""The landing page of a member's referral link (``/join?ref=CODE``, the link
:func:`patron.referrals.service.member_referral` gives when the program names no
``referrals.link`` of its own): it shows the friend the code to give when they enrol and what
they get, and records the visit for the referral funnel's first step, ``invited``
(:func:`patron.referrals.service.record_visit`: once per member and visitor, the visitor
named by the SHA-256 of a random id in the ``patron_visitor`` cookie, so reloading or coming
back counts once). An unknown code shows the same page without a code and records nothing."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.referrals import service as referral_service
from patron.web.auth import database_of, remember, set_cookie
from patron.web.member_auth import anyone_language
from patron.web.routes.portal import formats, reward_names
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
VISITOR_COOKIE = "patron_visitor"
_YEAR = 365 * 24 * 3600
Code = Annotated[str, Query(max_length=32)]


@router.get("/join")
async def join(
    request: Request, _language: Annotated[str, Depends(anyone_language)], ref: Code = ""
) -> Response:
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    if not (20 <= len(visitor) <= 64 and visitor.replace("-", "").replace("_", "").isalnum()):
        visitor = random_token(32)
    digest = hashlib.sha256(visitor.encode()).hexdigest()
    code = referral_service.normalise_code(ref)
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
    known = False
    if code:
        async with database_of(request).write() as session:
            known = await referral_service.record_visit(
                session, active=active, code=code, visitor_digest=digest, now=utcnow()
            )
    settings = referral_service.settings_of(active)
    context = {
        "code": code if known else "",
        "settings": settings,
        "names": reward_names(active, request.state.language),
        "currency": active.program.currency,
        "fmt": formats(request, active),
    }
    response = render(request, "portal/join.html", context)
    set_cookie(request, response, VISITOR_COOKIE, visitor, _YEAR)
    return remember(request, response)
