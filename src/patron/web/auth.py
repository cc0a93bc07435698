"""Who is looking at a console page: the language, the staff session, CSRF and roles.

The session cookie holds a random token (``patron.access.users``); it is ``HttpOnly``,
``SameSite=Lax`` and ``Secure``, except over plain HTTP to a loopback address (the demo's
``http://127.0.0.1:8000``), where a browser would drop a ``Secure`` cookie. Behind a TLS
proxy, uvicorn's proxy headers make the scheme ``https``. Each form posts the session's
CSRF token (the login form: a token that must equal the ``patron_login_csrf`` cookie).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from patron.access import users as user_service
from patron.access.models import Role
from patron.access.schemas import ConsoleSession
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.web.i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language

SESSION_COOKIE = "patron_session"
LOGIN_CSRF_COOKIE = "patron_login_csrf"
LOGIN_PATH = "/admin/login"
_YEAR = 365 * 24 * 3600


class LoginRequired(Exception):  # noqa: N818 (a signal, not an error)
    """No live session: the page answers with the login page's address."""


class Forbidden(Exception):  # noqa: N818
    """A live session whose role may not see the page (403 page)."""

    def __init__(self, role: Role) -> None:
        super().__init__(role.value)
        self.role = role


class CsrfRejected(Exception):  # noqa: N818
    """A form without the session's CSRF token (403 page)."""


def database_of(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_cookies(request: Request) -> bool:
    """Whether cookies get ``Secure``: always but over plain HTTP to a loopback address."""
    return not (request.url.scheme == "http" and is_loopback(request.url.hostname))


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def forget_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=secure_cookies(request)
    )


async def page_language(request: Request) -> str:
    """The request's language (``?lang=``, the cookie, ``Accept-Language``), kept on
    ``request.state.language``; a ``?lang=`` choice is remembered by :func:`remember`."""
    requested = request.query_params.get("lang")
    language = choose_language(
        requested, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    request.state.language = language
    request.state.remember_language = requested if requested in LANGUAGES else None
    return language


def remember(request: Request, response: Response) -> Response:
    """Add the language cookie to ``response`` when the page was asked for in a language."""
    chosen = getattr(request.state, "remember_language", None)
    if chosen:
        set_cookie(request, response, LANGUAGE_COOKIE, chosen, _YEAR)
    return response


async def optional_session(request: Request) -> ConsoleSession | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    async with database_of(request).read() as session:
        return await user_service.current_session(session, token=token, now=utcnow())


def signed_in(*roles: Role) -> Callable[..., Awaitable[ConsoleSession]]:
    """A dependency: the live session of a user whose role is admin or among ``roles``."""
    admitted = frozenset({Role.ADMIN, *roles})

    async def dependency(
        request: Request, _language: Annotated[str, Depends(page_language)]
    ) -> ConsoleSession:
        console = await optional_session(request)
        if console is None:
            raise LoginRequired()
        request.state.console = console
        if console.user.role not in admitted:
            raise Forbidden(console.user.role)
        return console

    return dependency


StaffSession = Annotated[ConsoleSession, Depends(signed_in(Role.STAFF))]
AdminSession = Annotated[ConsoleSession, Depends(signed_in())]
Language = Annotated[str, Depends(page_language)]


def check_csrf(expected: str, given: object) -> None:
    if not (
        isinstance(given, str)
        and expected
        and hmac.compare_digest(expected.encode(), given.encode())
    ):
        raise CsrfRejected()


async def checked_form(request: Request, console: ConsoleSession) -> dict[str, str]:
    """The posted form, after its CSRF token is checked against the session's."""
    form = await request.form()
    check_csrf(console.csrf_token, form.get("csrf_token"))
    return {key: value for key, value in form.items() if isinstance(value, str)}


def login_address(request: Request) -> str:
    """The login page, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{LOGIN_PATH}?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a console path of this site, else the dashboard."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return "/admin"
