"""Logging in and out (``/admin/login``, ``/admin/logout``)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from patron.access import users as user_service
from patron.access.errors import LoginFailedError
from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.web.auth import (
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    SESSION_COOKIE,
    CsrfRejected,
    Language,
    StaffSession,
    check_csrf,
    checked_form,
    database_of,
    forget_cookie,
    optional_session,
    remember,
    safe_next,
    set_cookie,
)
from patron.web.limits import LoginLimiter
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
_LOGIN_FORM_SECONDS = 3600


def limiter_of(request: Request) -> LoginLimiter:
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = request.app.state.login_limiter = LoginLimiter()
    return limiter


def _login_page(
    request: Request, *, next_page: str, email: str = "", error: str = "", status_code: int = 200
) -> Response:
    token = random_token(32)
    response = render(
        request,
        "login.html",
        {"login_token": token, "next_page": next_page, "email": email, "error": error},
        status_code=status_code,
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, _LOGIN_FORM_SECONDS)
    return remember(request, response)


@router.get(LOGIN_PATH)
async def login_form(request: Request, _: Language, next: str | None = None) -> Response:
    if await optional_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_page=safe_next(next))


@router.post(LOGIN_PATH)
async def log_in(
    request: Request,
    language: Language,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin",
) -> Response:
    _ = gettext_for(language)
    target = safe_next(next)
    try:
        check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token)
    except CsrfRejected:
        message = _("The form has expired. Please try again.")
        return _login_page(request, next_page=target, email=email, error=message, status_code=403)
    limiter = limiter_of(request)
    client = request.client.host if request.client else "unknown"
    keys = LoginLimiter.keys(client, email)
    wait = limiter.wait_seconds(keys)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        message = _("Too many failed attempts. Try again in %(minutes)s min.") % {
            "minutes": minutes
        }
        response = _login_page(
            request, next_page=target, email=email, error=message, status_code=429
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    try:
        async with database_of(request).write() as session:
            started = await user_service.log_in(
                session, email=email, password=password, now=utcnow()
            )
    except LoginFailedError:
        limiter.failed(keys)
        message = _("The email or the password is wrong.")
        return _login_page(request, next_page=target, email=email, error=message, status_code=401)
    limiter.succeeded(email)
    response = RedirectResponse(target, status_code=303)
    assert started.token is not None
    set_cookie(request, response, SESSION_COOKIE, started.token, user_service.SESSION_HOURS * 3600)
    forget_cookie(request, response, LOGIN_CSRF_COOKIE)
    return remember(request, response)


@router.post("/admin/logout")
async def log_out(request: Request, console: StaffSession) -> Response:
    await checked_form(request, console)
    async with database_of(request).write() as session:
        await user_service.log_out(session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    forget_cookie(request, response, SESSION_COOKIE)
    return response
