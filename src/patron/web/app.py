"""``install_console(app)``: the console's pages, static files and error pages on the API's
FastAPI app (one server answers both)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from patron.web.auth import (
    CsrfRejected,
    Forbidden,
    LoginRequired,
    login_address,
    page_language,
)
from patron.web.routes import dashboard, members, session, users
from patron.web.templating import gettext_for, render

STATIC = Path(str(resources.files("patron.web") / "static"))
PLOTLY = Path(str(resources.files("plotly") / "package_data"))


async def _login_required(request: Request, _: Exception) -> Response:
    address = login_address(request)
    if request.headers.get("hx-request") == "true":
        # htmx follows a redirect inside the fragment; send the whole page to the login
        return Response(status_code=204, headers={"HX-Redirect": address})
    return RedirectResponse(address, status_code=303)


async def _refused(request: Request, error: Exception) -> Response:
    await page_language(request)
    _ = gettext_for(request.state.language)
    if isinstance(error, CsrfRejected):
        title = _("The form has expired")
        message = _("Go back, reload the page and try again.")
    else:
        title = _("Not allowed")
        message = _("Your role may not open this page.")
    return render(request, "error.html", {"title": title, "message": message}, status_code=403)


def install_console(app: FastAPI) -> None:
    for router in (session.router, dashboard.router, members.router, users.router):
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _refused)
    app.add_exception_handler(CsrfRejected, _refused)
    # plotly.js from the installed plotly package (never a CDN); mounted before the
    # console's own files, whose mount would otherwise take its path
    app.mount("/static/web/plotly", StaticFiles(directory=PLOTLY), name="web-plotly")
    app.mount("/static/web", StaticFiles(directory=STATIC), name="web")
