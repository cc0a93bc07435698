"""The console's and the portal's errors as pages, not as the API's JSON.

One server answers the API and the pages, so an error FastAPI or Starlette raises before a
page's own code runs (an address with no page, an id that is not a number, a method the page
does not take) went to the API's handlers and reached a person's browser as
``{"error": {...}}``. :func:`install_page_errors` wraps the app's handlers of those errors
(and of a :class:`PatronError` a page lets through): on a console or portal path they answer
the error page in the page's language, with the same status (and ``Allow`` on a 405);
anywhere else the API's handler answers, unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from patron.kit.errors import PatronError
from patron.web import PORTAL_PATHS
from patron.web.auth import optional_session, page_language
from patron.web.member_auth import optional_visit, portal_language
from patron.web.messages import error_text
from patron.web.templating import gettext_for, render

Handler = Callable[[Request, Any], Awaitable[Response]]

MEMBER_PAGE_PATHS = (*PORTAL_PATHS, "/u")
"""The member's pages: the portal's, and a message's unsubscribe link (``/u/{token}``, served
by ``patron.api.routes.unsubscribe_page``), whose errors are the portal's error page."""
PAGE_PATHS = ("/admin", *MEMBER_PAGE_PATHS)
"""The paths whose errors are pages (the console's static files keep plain answers)."""


def is_page_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PATHS)


def is_portal_page(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in MEMBER_PAGE_PATHS)


def install_page_errors(app: FastAPI) -> None:
    """Wrap the handlers the API installed (``install_error_handlers`` runs first)."""
    for kind in (RequestValidationError, StarletteHTTPException, PatronError):
        api_handler = app.exception_handlers[kind]
        app.add_exception_handler(kind, _pages_first(api_handler))


def _pages_first(api_handler: Callable[[Request, Any], Any]) -> Handler:
    async def handle(request: Request, error: Any) -> Response:
        answer: Response = await api_handler(request, error)  # the API's are all async
        if not is_page_path(request.url.path):
            return answer
        # the API's answer says the status and ``Allow`` (every method of the path)
        return await error_page(request, error, allow=answer.headers.get("allow"))

    return handle


async def error_page(request: Request, error: Exception, *, allow: str | None) -> Response:
    """The error page of ``error`` on a console or portal path (``allow``: a 405's methods)."""
    portal = is_portal_page(request.url.path)
    # who is looking, when no page's dependency has said it yet (an address with no page):
    # the page's frame then shows their navigation and language as on any other page
    if portal:
        if getattr(request.state, "portal", None) is None:
            request.state.portal = await optional_visit(request)
        visit = request.state.portal
        language = portal_language(request, visit.member if visit is not None else None)
    else:
        if getattr(request.state, "console", None) is None:
            request.state.console = await optional_session(request)
        language = await page_language(request)
    status, title, message = _words(error, language)
    headers = dict(error.headers or {}) if isinstance(error, StarletteHTTPException) else {}
    if allow is not None:
        headers["Allow"] = allow
    template = "portal/error.html" if portal else "error.html"
    context = {"title": title, "message": message}
    return render(request, template, context, status_code=status, headers=headers)


def _words(error: Exception, language: str) -> tuple[int, str, str]:
    """The status, title and message of ``error`` in ``language``."""
    _ = gettext_for(language)
    if isinstance(error, RequestValidationError):
        return (
            422,
            _("This address is not valid"),
            _("Part of the address is not a valid value. Check the link or go back."),
        )
    if isinstance(error, PatronError):
        return error.status, _("This cannot be done"), error_text(error, language)
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    if status == 404:
        return status, _("Page not found"), _("There is no page at this address.")
    if status == 405:
        return status, _("Not possible here"), _("This page does not take this request.")
    return status, _("The request is not valid."), ""
