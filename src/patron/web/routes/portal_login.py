"""The member portal's way in and out: asking for a login link by email, the one-time link's
page and its use, the signed embed token of a shop's own site, and logging out. The pages
behind the login are :mod:`patron.web.routes.portal` and its neighbours."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from patron.kit.errors import NotFoundError
from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.members import portal as portal_service
from patron.programs import service as program_service
from patron.web.auth import (
    CsrfRejected,
    check_csrf,
    database_of,
    forget_cookie,
    remember,
    set_cookie,
)
from patron.web.limits import LoginLimiter
from patron.web.member_auth import (
    MEMBER_COOKIE,
    PORTAL_LOGIN_CSRF_COOKIE,
    AnyoneLanguage,
    MemberVisit,
    checked_member_form,
    embed_secret,
    set_member_cookie,
)
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
LoginToken = Annotated[str, Path(min_length=1, max_length=200)]
_LOGIN_FORM_SECONDS = 3600


def _login_limiter(request: Request) -> LoginLimiter:
    """Requests for login links: 3 per email and 10 per client address in 15 minutes (each
    request counts: an email is sent for it)."""
    limiter: LoginLimiter | None = getattr(request.app.state, "portal_login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter(per_email=3, per_address=10)
        request.app.state.portal_login_limiter = limiter
    return limiter


def _request_page(
    request: Request,
    *,
    email: str = "",
    sent: bool = False,
    error: str = "",
    status_code: int = 200,
) -> Response:
    form_token = random_token(32)
    response = render(
        request,
        "portal/login_request.html",
        {"login_token": form_token, "email": email, "sent": sent, "error": error},
        status_code=status_code,
    )
    set_cookie(request, response, PORTAL_LOGIN_CSRF_COOKIE, form_token, _LOGIN_FORM_SECONDS)
    return remember(request, response)


@router.get("/portal/login")
async def login_request_form(request: Request, _: AnyoneLanguage) -> Response:
    """Where a member asks for a login link by email (the till's link is the other way)."""
    return _request_page(request)


@router.post("/portal/login")
async def request_login_link(
    request: Request,
    language: AnyoneLanguage,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Email a login link to the members with this email; the answer is the same whether or
    not the email belongs to anybody (it tells nothing about who is a member)."""
    _ = gettext_for(language)
    try:
        check_csrf(request.cookies.get(PORTAL_LOGIN_CSRF_COOKIE, ""), csrf_token)
    except CsrfRejected:
        message = _("The form has expired. Please try again.")
        return _request_page(request, email=email, error=message, status_code=403)
    limiter = _login_limiter(request)
    client = request.client.host if request.client else "unknown"
    keys = LoginLimiter.keys(client, email)
    wait = limiter.wait_seconds(keys)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        message = _("Too many requests. Try again in %(minutes)s min.") % {"minutes": minutes}
        response = _request_page(request, email=email, error=message, status_code=429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    limiter.failed(keys)
    now = utcnow()
    async with database_of(request).write() as session:
        program_ids = [
            (await program_service.get_active_program(session, key=key)).program_id
            for key in await program_service.program_keys(session)
        ]
        await portal_service.request_login(session, email=email, program_ids=program_ids, now=now)
    return _request_page(request, sent=True)


@router.get("/portal/login/{token}")
async def login_link(request: Request, _: AnyoneLanguage, token: LoginToken) -> Response:
    """The link's page: one button that uses the link. Opening the page spends nothing, so a
    messenger's link preview cannot use up the link."""
    form_token = random_token(32)
    response = render(
        request, "portal/login.html", {"login_token": form_token, "link": request.url.path}
    )
    set_cookie(request, response, PORTAL_LOGIN_CSRF_COOKIE, form_token, _LOGIN_FORM_SECONDS)
    return remember(request, response)


@router.post("/portal/login/{token}")
async def use_login_link(request: Request, _: AnyoneLanguage, token: LoginToken) -> Response:
    form = await request.form()
    try:
        check_csrf(request.cookies.get(PORTAL_LOGIN_CSRF_COOKIE, ""), form.get("csrf_token"))
    except CsrfRejected:
        return render(request, "portal/link_refused.html", {"expired_form": True}, status_code=403)
    database, now = database_of(request), utcnow()
    async with database.read() as session:  # a read first: a bad token never takes the lock
        usable = await portal_service.link_usable(session, token=token, now=now)
    login = None
    if usable:
        async with database.write() as session:
            login = await portal_service.use_link(session, token=token, now=now)
    if login is None or login.token is None:
        # unknown, used or expired: one answer for all
        return render(request, "portal/link_refused.html", {"expired_form": False}, status_code=401)
    response = RedirectResponse("/portal", status_code=303)
    set_member_cookie(request, response, login.token)
    forget_cookie(request, response, PORTAL_LOGIN_CSRF_COOKIE)
    return remember(request, response)


@router.get("/portal/embed")
async def embed(
    request: Request, _: AnyoneLanguage, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The portal inside the shop's own page: a signed, expiring member token (see
    ``patron.members.portal``) starts a member session, then the balance page."""
    secret = embed_secret()
    if secret is None:  # embedding is off
        return render(request, "portal/link_refused.html", {"embed": True}, status_code=404)
    now = utcnow()
    member_id = portal_service.verify_embed_token(secret, token, now=now)
    login = None
    if member_id is not None:
        async with database_of(request).write() as session:
            try:
                login = await portal_service.start_session(session, member_id=member_id, now=now)
            except NotFoundError:
                login = None
    if login is None or login.token is None:
        return render(request, "portal/link_refused.html", {"embed": True}, status_code=401)
    response = RedirectResponse("/portal", status_code=303)
    set_member_cookie(request, response, login.token, embedded=True)
    return remember(request, response)


@router.post("/portal/logout")
async def log_out(request: Request, visit: MemberVisit) -> Response:
    await checked_member_form(request, visit)
    async with database_of(request).write() as session:
        await portal_service.log_out(session, token=request.cookies.get(MEMBER_COOKIE, ""))
    response = render(request, "portal/signed_out.html", {"logged_out": True})
    forget_cookie(request, response, MEMBER_COOKIE)
    return response
