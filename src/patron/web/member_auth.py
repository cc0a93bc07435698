"""Who is looking at a portal page (``/portal``): the member session, its language and CSRF.

The member cookie (:data:`MEMBER_COOKIE`) is apart from the staff's ``patron_session``: a
member session never opens ``/admin`` and a staff session never opens ``/portal``. It has
the staff cookie's flags (``HttpOnly``, ``SameSite=Lax``, ``Secure`` but over plain HTTP to a
loopback address). The language of a portal page is the switch's ``?lang=`` (remembered in
the language cookie), else that cookie, else the member's own profile language, else the
browser's ``Accept-Language``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from patron.kit.time import utcnow
from patron.members import portal as portal_service
from patron.members import service as member_service
from patron.members.portal import MemberLogin
from patron.members.schemas import Member
from patron.web.auth import check_csrf, database_of, secure_cookies, set_cookie
from patron.web.i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language

MEMBER_COOKIE = "patron_member"
PORTAL_LOGIN_CSRF_COOKIE = "patron_portal_csrf"
# Embedding (docs/web.md, "Embedding the portal"): the secret the shop signs member tokens
# with, and the shop's origins that may frame the portal.
SECRET_VARIABLE = "PATRON_PORTAL_SECRET"
FRAME_ANCESTORS_VARIABLE = "PATRON_PORTAL_FRAME_ANCESTORS"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")


def embed_secret() -> str | None:
    """The embed tokens' secret; ``None`` (embedding is off) when unset or too short."""
    secret = os.environ.get(SECRET_VARIABLE, "")
    return secret if len(secret) >= portal_service.MIN_SECRET_LENGTH else None


def frame_ancestors() -> list[str]:
    """The origins that may frame portal pages (``https://shop.example``; others ignored)."""
    return [
        origin
        for origin in os.environ.get(FRAME_ANCESTORS_VARIABLE, "").split()
        if _ORIGIN.fullmatch(origin)
    ]


def set_member_cookie(
    request: Request, response: Response, token: str, *, embedded: bool = False
) -> None:
    """The member session's cookie. Embedded (inside the shop's page, another site) over
    HTTPS it is ``SameSite=None; Secure; Partitioned``: a ``Lax`` cookie is not sent to a
    frame of another site, and a partitioned one lives only under that shop's site."""
    max_age = portal_service.SESSION_DAYS * 86400
    if embedded and secure_cookies(request):
        # written by hand: Starlette writes Partitioned only on Python 3.14 and later (the
        # token is URL-safe base64: nothing to quote)
        response.headers.append(
            "set-cookie",
            f"{MEMBER_COOKIE}={token}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=None; "
            "Secure; Partitioned",
        )
    else:
        set_cookie(request, response, MEMBER_COOKIE, token, max_age)


class PortalLoginRequired(Exception):  # noqa: N818 (a signal, not an error)
    """No live member session: the page says how to get a login link (401)."""


@dataclass(frozen=True, slots=True)
class PortalVisit:
    """A portal page's member: the session (its CSRF token) and the member's profile."""

    login: MemberLogin
    member: Member


def portal_language(request: Request, member: Member | None) -> str:
    profile = member.language.value if member is not None and member.language else None
    return language_for(request, profile)


def language_for(request: Request, profile: str | None) -> str:
    """The page's language: the switch (``?lang``), the remembered choice, the member's
    ``profile`` language, the browser's; set on ``request.state``."""
    requested = request.query_params.get("lang")
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    language = choose_language(
        requested, remembered or profile, request.headers.get("accept-language")
    )
    request.state.language = language
    request.state.remember_language = requested if requested in LANGUAGES else None
    return language


async def anyone_language(request: Request) -> str:
    """The language of a portal page open to anyone (the login link's page)."""
    return portal_language(request, None)


async def optional_visit(request: Request) -> PortalVisit | None:
    token = request.cookies.get(MEMBER_COOKIE, "")
    if not token:
        return None
    async with database_of(request).read() as session:
        login = await portal_service.current_session(session, token=token, now=utcnow())
        if login is None:
            return None
        member = await member_service.get_member(session, member_id=login.member_id)
    return PortalVisit(login=login, member=member)


async def signed_in_member(request: Request) -> PortalVisit:
    """A dependency: the live member session (else :class:`PortalLoginRequired`)."""
    visit = await optional_visit(request)
    portal_language(request, visit.member if visit else None)
    if visit is None:
        raise PortalLoginRequired()
    request.state.portal = visit
    return visit


MemberVisit = Annotated[PortalVisit, Depends(signed_in_member)]
AnyoneLanguage = Annotated[str, Depends(anyone_language)]


async def checked_member_form(request: Request, visit: PortalVisit) -> dict[str, str]:
    """The posted form, after its CSRF token is checked against the member session's."""
    form = await request.form()
    check_csrf(visit.login.csrf_token, form.get("csrf_token"))
    return {key: value for key, value in form.items() if isinstance(value, str)}
